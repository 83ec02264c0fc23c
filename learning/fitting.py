"""From training rows to a scorecard the service can grade with: fit the champion, export its integer
points, resolve the policy's cut-offs against the training population, and read it all back through the
domain's checks. Training and backtests both go this way, so a backtest evaluates what would be promoted."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from learning.champion import ChampionModel, ChampionParams, fit_champion
from learning.dataset import Dataset
from learning.grading import narrow_band, population_shares, resolve_cutoffs
from learning.scorecard_file import policy_with, reloaded, score_dataset, scorecard_document
from services.scoring.domain.grades import GradeCutoffs
from services.scoring.domain.policy import Policy
from services.scoring.domain.scorecard import Scorecard


@dataclass
class Fitted:
    model: ChampionModel
    document: dict[str, Any]  # the [scorecard] table, cut-offs included
    scorecard: Scorecard  # as the service reads it
    policy: Policy  # the policy grading with it (its label, its cut-offs)
    cutoffs: GradeCutoffs
    population_scores: np.ndarray
    shares: dict[str, dict[str, float]]  # of the population: by score alone, and graded


def fit_scorecard(
    train: Dataset, population: Dataset, policy: Policy, version: str, params: ChampionParams | None = None
) -> Fitted:
    """The champion fitted on `train` (labelled by the policy's label or the rows' own), with cut-offs:
    resolved from the policy's target shares against `population` (every enterprise registered at the
    end of the training window, as of that date), or the policy's absolute ones."""
    model = fit_champion(train, params)
    policy = replace(policy, label=train.label_name)
    points = reloaded(scorecard_document(model, policy.score_scale, version))
    population_scores = score_dataset(points, population)
    if policy.cutoff_shares:
        cutoffs = resolve_cutoffs(population_scores, policy.cutoff_shares)
        if problem := narrow_band(cutoffs, policy.hysteresis_margin):
            raise ValueError(problem)
    else:
        cutoffs = policy.grade_cutoffs
    document = scorecard_document(model, policy.score_scale, version, cutoffs, policy.cutoff_shares)
    scorecard = reloaded(document)
    graded = policy_with(policy, scorecard, cutoffs)
    shares = population_shares(graded, population_scores, population) if len(population) else {}
    return Fitted(model, document, scorecard, graded, cutoffs, population_scores, shares)
