"""Must show: on the demo province, the champion ranks almost as well as the hidden integrity itself,
and risk order finds violations earlier than date order. Then it is trained, promoted and graded with."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from learning.backtest import BacktestReport, backtest, format_report
from learning.dataset import Dataset, build_tables
from learning.training import train_models
from operations.demo.province import generate_province
from services.scoring.adapters import model_store
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.grading import grade_as_of

ENTERPRISES = 6000
CUTOFF = datetime(2025, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def province() -> list:
    return list(generate_province(ENTERPRISES, seed=1))


@pytest.fixture(scope="module")
def tables(province: list) -> tuple[Dataset, Dataset]:
    return build_tables((e.events for e in province), population_at=CUTOFF, workers=2)


@pytest.fixture(scope="module")
def report(province: list, tables: tuple[Dataset, Dataset]) -> BacktestReport:
    truth = {name: p for e in province for name, p in e.violation_probability.items()}
    integrity = {e.uscc: e.integrity for e in province}
    # Any violation (about 6 %): enough positives in a province this size to compare with the truth.
    policy = load_policy()
    result = backtest(*tables, CUTOFF, policy, label="non_compliant", truth=truth, integrity=integrity)
    print(format_report(result))  # shown with pytest -s: the figures of the closing note
    return result


def test_champion_auc_is_within_005_of_the_hidden_integrity(report: BacktestReport) -> None:
    champion, hidden = report.by_name("champion"), report.by_name("hidden integrity")
    assert abs(hidden.auc - champion.auc) <= 0.05, format_report(report)
    assert champion.auc > 0.7
    # The true probabilities (integrity plus size, sector, triggers and instruments) rank best of all.
    assert report.by_name("oracle").auc >= hidden.auc - 0.01


def test_risk_order_finds_violations_earlier_than_date_order(report: BacktestReport) -> None:
    champion, challenger, dates = (report.by_name(n) for n in ("champion", "challenger", "date order"))
    assert dates.schedule.mean_days_earlier == 0.0
    assert champion.schedule.mean_days_earlier > 0
    assert challenger.schedule.mean_days_earlier > 0
    assert champion.schedule.first_half_share > dates.schedule.first_half_share
    assert champion.top_decile.lift > 1.5


def test_champion_is_calibrated_and_its_scores_stable(report: BacktestReport) -> None:
    champion = report.by_name("champion")
    assert champion.ece < 0.05
    assert champion.psi < 0.25


def test_the_graded_ranking_keeps_the_models_order_and_the_hard_rules_cost_little(
    report: BacktestReport,
) -> None:
    champion, graded = report.by_name("champion"), report.by_name("graded")
    assert graded.auc >= champion.auc - 0.01
    assert abs(report.gap("graded", "graded, no hard rules")) < 0.01
    assert report.gap("champion", "plain logistic") >= -0.005


def test_trained_model_is_promoted_and_grades_carry_its_version(
    tables: tuple[Dataset, Dataset], province: list, tmp_path: Path
) -> None:
    dataset, population = tables
    model = train_models(dataset, population, load_policy(), tmp_path, test_from=CUTOFF)
    for name in (
        model_store.SCORECARD_FILE,
        model_store.CHALLENGER_FILE,
        model_store.CARD_JSON,
        model_store.CARD_MD,
    ):
        assert (model.directory / name).is_file()
    assert model.version.startswith("scorecard-") and len(model.version.split("-")[-1]) == 8
    # Same data and parameters: the same version name.
    again = train_models(dataset, population, load_policy(), tmp_path, test_from=CUTOFF)
    assert again.version == model.version
    card = model.card
    assert card["label"] == "major_or_worse"
    assert (
        card["data"]["train_to"] <= card["data"]["test_from"] and card["data"]["holdout_from"] == "2025-04-01"
    )
    assert "held out to test it" in card["data"]["window"]
    assert set(card["by_region"]) == {e.region_code for e in province}
    assert abs(sum(card["grades"]["by_score"].values()) - 1.0) < 1e-9
    assert card["grades"]["enterprises"] == len(population)
    statuses = {f["feature"]: f["status"] for f in card["features"]}
    assert statuses["minor_findings_decayed"] == "missing"  # the demo's results do not count findings
    assert {"used", "missing"} <= set(statuses.values())
    markdown = (model.directory / model_store.CARD_MD).read_text(encoding="utf-8")
    assert "missing: never observed in the training window" in markdown and "held out" in markdown

    assert model_store.promoted_scorecard_path(tmp_path) is None
    model_store.promote(tmp_path, model.version)
    assert [e.version for e in model_store.list_models(tmp_path) if e.promoted] == [model.version]
    policy = load_policy(scorecard_path=model_store.promoted_scorecard_path(tmp_path))
    history = next(e.events for e in province if e.violation_probability)
    grade = grade_as_of(policy, history, datetime(2026, 10, 1, tzinfo=UTC), None)
    assert grade.model_version == model.version
