"""Stored models round-trip their predictions exactly, without pickle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from learning_synthetic import generate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from learning.challenger import (
    ChallengerParams,
    fit_challenger,
    load_challenger,
    monotonic_constraints,
    save_challenger,
)
from learning.champion import fit_champion
from learning.dataset import Dataset, build_dataset
from learning.scorecard_file import score_dataset, scorecard_document, to_toml
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.grades import GradeCutoffs


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset([e.events for e in generate(800, seed=21)])


def test_challenger_round_trips_predictions_exactly_through_skops(dataset: Dataset, tmp_path: Path) -> None:
    challenger = fit_challenger(dataset, ChallengerParams(max_iter=60))
    path = tmp_path / "challenger.skops"
    save_challenger(challenger, path)
    loaded = load_challenger(path)
    np.testing.assert_array_equal(loaded.predict_proba(dataset), challenger.predict_proba(dataset))
    assert loaded.vocabularies == challenger.vocabularies
    # A skops file is a zip of JSON schema and numpy arrays: no pickle inside.
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "schema.json" in names
        assert not any(name.endswith((".pkl", ".pickle")) for name in names)


def test_challenger_constraints_follow_the_scorecard_risk_directions(dataset: Dataset) -> None:
    challenger = fit_challenger(dataset, ChallengerParams(max_iter=30))
    assert list(challenger.booster.monotonic_cst) == monotonic_constraints()
    assert set(monotonic_constraints()) <= {-1, 0, 1}


class Hostile:
    """A type no challenger file holds: loading must name it and refuse."""


def test_loading_refuses_a_file_with_types_not_on_the_trusted_list(tmp_path: Path) -> None:
    path = tmp_path / "hostile.skops"
    sio.dump({"booster": Pipeline([("f", FunctionTransformer(np.exp))]), "extra": Hostile()}, path)
    with pytest.raises(ValueError, match="not trusted"):
        load_challenger(path)


def test_champion_round_trips_scores_exactly_through_its_toml(dataset: Dataset, tmp_path: Path) -> None:
    policy = load_policy()
    cutoffs = GradeCutoffs(620, 600, 580)
    model = fit_champion(dataset)
    document = scorecard_document(
        model, policy.score_scale, "scorecard-20260101-00000000", cutoffs, policy.cutoff_shares
    )
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(to_toml(document), encoding="utf-8")
    loaded = load_policy(scorecard_path=first).scorecard
    # Written again from what was loaded: the same scorecard, the same scores.
    second.write_text(to_toml(document), encoding="utf-8")
    reloaded = load_policy(scorecard_path=second).scorecard
    assert loaded == reloaded
    np.testing.assert_array_equal(score_dataset(loaded, dataset), score_dataset(reloaded, dataset))
