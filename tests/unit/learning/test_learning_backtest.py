"""Backtest metrics on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from learning.backtest import (
    expected_calibration_error,
    psi,
    reliability,
    schedule_simulation,
    stability_band,
    top_decile,
)


def days(*numbers: int) -> np.ndarray:
    return np.datetime64("2025-01-01", "us") + np.array(numbers) * np.timedelta64(86_400_000_000, "us")


def test_schedule_simulation_on_a_hand_made_example() -> None:
    # Four inspections on days 0, 10, 20, 30; the two violations are the last two, and the model
    # ranks them first: they take days 0 and 10 instead of 20 and 30.
    dates = days(0, 10, 20, 30)
    labels = np.array([0, 0, 1, 1])
    risk = np.array([0.1, 0.2, 0.8, 0.9])
    schedule = schedule_simulation(dates, risk, labels)
    # Day 30 (riskiest) -> day 0: 30 days earlier; day 20 -> day 10: 10 days earlier.
    assert schedule.mean_days_earlier == pytest.approx(20.0)
    # Midpoint is day 15: both violations now fall in the first half (before: none).
    assert schedule.first_half_share == 1.0
    in_date_order = schedule_simulation(dates, -np.arange(4.0), labels)
    assert in_date_order.mean_days_earlier == 0.0 and in_date_order.first_half_share == 0.0


def test_a_bad_ranking_finds_violations_later() -> None:
    dates = days(0, 10, 20, 30)
    labels = np.array([1, 0, 0, 0])
    schedule = schedule_simulation(dates, np.array([0.0, 1.0, 2.0, 3.0]), labels)
    assert schedule.mean_days_earlier == pytest.approx(-30.0)  # the day-0 violation moved to day 30
    assert schedule.first_half_share == 0.0


def test_equal_risks_keep_date_order() -> None:
    dates = days(30, 0, 20, 10)
    labels = np.array([1, 0, 1, 0])
    schedule = schedule_simulation(dates, np.zeros(4), labels)
    assert schedule.mean_days_earlier == 0.0


def test_top_decile_on_known_input() -> None:
    labels = np.array([1] * 5 + [0] * 95)
    risk = np.arange(100.0)[::-1]  # the first rows are the riskiest
    # Top 10 rows hold all 5 violations: hit rate 50% against a base rate of 5%, lift 10.
    result = top_decile(labels, risk)
    assert (result.hit_rate, result.base_rate) == (0.5, 0.05)
    assert result.lift == pytest.approx(10.0)
    assert top_decile(np.array([1, 0, 0]), np.array([0.9, 0.1, 0.2])).hit_rate == 1.0  # at least one row


def test_psi_on_known_inputs() -> None:
    rng = np.random.default_rng(0)
    expected = rng.normal(size=50_000)
    assert psi(expected, expected) == pytest.approx(0.0, abs=1e-9)
    assert psi(expected, rng.normal(size=50_000)) < 0.01
    assert stability_band(psi(expected, rng.normal(size=50_000))) == "stable"
    # Everything moves into the top decile of `expected`: 10% -> 100% there, 1e-6 elsewhere.
    shifted = np.full(1000, expected.max() + 1)
    want = (1 - 0.1) * math.log(1 / 0.1) + 9 * (1e-6 - 0.1) * math.log(1e-6 / 0.1)
    assert psi(expected, shifted) == pytest.approx(want, rel=1e-3)
    assert stability_band(0.15) == "shifting" and stability_band(0.3) == "shifted"


def test_reliability_and_ece_of_perfect_and_biased_predictions() -> None:
    probability = np.repeat(np.linspace(0.05, 0.95, 10), 100)
    labels = np.concatenate(
        [np.array([1] * round(p * 100) + [0] * (100 - round(p * 100))) for p in np.linspace(0.05, 0.95, 10)]
    )
    table = reliability(labels, probability)
    assert len(table) == 10 and sum(b.rows for b in table) == 1000
    assert expected_calibration_error(table) == pytest.approx(0.0, abs=1e-9)
    assert expected_calibration_error(
        reliability(labels, np.clip(probability + 0.05, 0, 1))
    ) == pytest.approx(0.05)


def test_a_feature_whose_weights_round_to_zero_points_is_reported_so_not_as_used() -> None:
    from learning.backtest import feature_report
    from learning.champion import ROUNDS_TO_ZERO, USED, ChampionModel, FeatureFit
    from learning.scorecard_file import scorecard_document
    from services.scoring.adapters.policy_file import load_policy

    strong = FeatureFit("major_decayed", USED, 0.3, "increasing", [0.5, 1.5, math.inf], [-0.2, 0.1, 0.6])
    faint = FeatureFit("minor_decayed", USED, 0.001, "increasing", [0.5, 1.5, math.inf], [0.0, 1e-3, 2e-3])
    model = ChampionModel([strong, faint], -2.0, "major_or_worse", 1000)
    document = scorecard_document(model, load_policy().score_scale, "scorecard-test")
    assert [entry["feature"] for entry in document["features"]] == ["major_decayed"]
    statuses = {entry["feature"]: entry["status"] for entry in feature_report(model, document)}
    assert statuses == {"major_decayed": USED, "minor_decayed": ROUNDS_TO_ZERO}
