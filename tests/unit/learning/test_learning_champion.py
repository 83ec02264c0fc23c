"""The champion scorecard: monotone bins, export in the policy's form, scores equal to the scorer's."""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from learning_synthetic import generate

from learning.champion import (
    _woe,
    fit_champion,
    monotone_bins,
    policy_template,
    score_dataset,
    scorecard_document,
    to_toml,
    violation_probability,
)
from learning.dataset import Dataset, build_dataset
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.features import NUMERIC_FEATURES
from services.scoring.domain.grading import grade_as_of
from services.scoring.domain.scorecard import NumericBins


@pytest.fixture(scope="module")
def enterprises() -> list:
    return list(generate(1500, seed=11))


@pytest.fixture(scope="module")
def dataset(enterprises: list) -> Dataset:
    return build_dataset([e.events for e in enterprises])


@pytest.fixture(scope="module")
def exported(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = scorecard_document(fit_champion(dataset), load_policy(), "scorecard-20260101-0badcafe")
    path = tmp_path_factory.mktemp("model") / "scorecard.toml"
    path.write_text(to_toml(document, "a learned scorecard"), encoding="utf-8")
    return path


@pytest.mark.parametrize("risk", ["increasing", "decreasing"])
def test_bins_are_merged_until_the_violation_rate_is_monotone(risk: str) -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 10, 20_000)
    # A U-shaped truth: monotone bins must flatten the part that goes against the risk direction.
    probability = 0.05 + 0.02 * np.abs(values - 5)
    labels = (rng.uniform(size=values.size) < probability).astype(float)
    edges, rows, bads = monotone_bins(values, labels, risk, 20, 200)
    rates = bads / rows
    steps = np.diff(rates)
    assert (steps >= 0).all() if risk == "increasing" else (steps <= 0).all()
    assert edges[-1] == float("inf") and all(a < b for a, b in itertools.pairwise(edges))
    assert rows.min() >= 200 and rows.sum() == values.size


def test_clean_bins_of_different_sizes_still_give_monotone_weights_of_evidence() -> None:
    # Risk falls as the value grows; the two upper bins have no violation at all but differ in size, so
    # their raw rates tie while their smoothed WoE would not: they must be merged, not left inverted.
    values = np.array([0.0] * 400 + [1.0] * 300 + [2.0] * 40)
    labels = np.array([1.0] * 40 + [0.0] * 360 + [0.0] * 340)
    edges, rows, bads = monotone_bins(values, labels, "decreasing", 20, 10)
    woe = _woe(rows - bads, bads, float(len(labels) - labels.sum()), float(labels.sum()))
    assert (np.diff(woe) >= 0).all(), (edges, rows, bads, woe)


def test_export_loads_through_the_policy_loader_with_monotone_points(exported: Path) -> None:
    policy = load_policy(scorecard_path=exported)
    scorecard = policy.scorecard
    assert scorecard.version == "scorecard-20260101-0badcafe"
    assert policy.version == load_policy().version  # the policy's rules stay; only the scorecard changes
    template = policy_template()
    numeric = [c for c in scorecard.characteristics if isinstance(c, NumericBins)]
    assert numeric, "the learned scorecard uses some numeric feature"
    for characteristic in numeric:
        steps = np.diff(characteristic.points)
        if template[characteristic.feature]["risk"] == "increasing":
            assert (steps <= 0).all()
        else:
            assert (steps >= 0).all()
    # Reason words come from the built-in policy's entries for the same feature.
    table = tomllib.loads(exported.read_text(encoding="utf-8"))["scorecard"]
    for entry in table["features"]:
        assert entry["code"] == template[entry["feature"]]["code"]
        assert entry["text_zh"] == template[entry["feature"]]["text_zh"]


def test_vectorized_scores_equal_the_scorers_row_by_row(exported: Path, dataset: Dataset) -> None:
    scorecard = load_policy(scorecard_path=exported).scorecard
    scores = score_dataset(scorecard, dataset)
    for row in range(len(dataset)):
        assert scores[row] == scorecard.score(dataset.values(row))[0]


def test_a_missing_value_earns_zero_points_and_unknown_categories_the_default(exported: Path) -> None:
    scorecard = load_policy(scorecard_path=exported).scorecard
    empty = {name: None for name in NUMERIC_FEATURES}
    total, contributions = scorecard.score({**empty, "subject_type": None, "size_class": None})
    assert total == scorecard.base_points and all(c.points == 0 for c in contributions)


def test_probabilities_from_scores_are_calibrated_in_sample(exported: Path, dataset: Dataset) -> None:
    policy = load_policy(scorecard_path=exported)
    probability = violation_probability(policy, score_dataset(policy.scorecard, dataset))
    assert abs(probability.mean() - dataset.violation_rate) < 0.02
    for score in (560.0, 600.0, 640.0):
        assert violation_probability(policy, np.array([score]))[0] == pytest.approx(
            policy.score_scale.violation_probability(score)
        )


def test_grades_record_the_learned_scorecard_version_as_model_version(
    exported: Path, enterprises: list
) -> None:
    policy = load_policy(scorecard_path=exported)
    history = next(e.events for e in enterprises if len(e.violation_probability) >= 2)
    grade = grade_as_of(policy, history, datetime(2026, 10, 1, tzinfo=UTC), None)
    assert grade.model_version == "scorecard-20260101-0badcafe"
    assert grade.policy_version == policy.version


def test_a_scorecard_file_is_checked_like_the_policy(tmp_path: Path, exported: Path) -> None:
    from services.scoring.domain.policy import PolicyError

    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(scorecard_path=tmp_path / "missing.toml")
    extra = tmp_path / "extra.toml"
    extra.write_text('version = "x"\n' + exported.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(PolicyError, match="only a \\[scorecard\\] table"):
        load_policy(scorecard_path=extra)
    document = tomllib.loads(exported.read_text(encoding="utf-8"))["scorecard"]
    numeric = next(entry for entry in document["features"] if len(entry.get("points", [])) >= 2)
    numeric["points"] = numeric["points"][::-1]  # against its risk direction
    broken = tmp_path / "broken.toml"
    broken.write_text(to_toml(document), encoding="utf-8")
    with pytest.raises(PolicyError, match="monotone"):
        load_policy(scorecard_path=broken)
