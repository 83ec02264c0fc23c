"""The policy layer over many rows: cut-offs resolved from target shares, the levels the service's own
policy layer gives (services.scoring.domain.grading.apply_policy: hysteresis, provisional floor and
ceiling, hard rules), and the graded ranking a regulator's risk list follows (level, then probability).

Relative cut-offs (REPORT B5): for each cumulative target (D; D + C; D + C + B), a distinct integer score
whose share of the population strictly below it is near the target, chosen together so that every grade's
share comes as close to its target as whole score values allow (an integer score is never split between
two grades). The realised shares are reported beside the targets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from learning.dataset import Dataset, to_datetime
from services.scoring.domain.grades import GradeCutoffs, GradeLevel
from services.scoring.domain.grading import apply_policy
from services.scoring.domain.policy import Policy

LEVELS = ("A", "B", "C", "D")


def resolve_cutoffs(scores: np.ndarray, shares: dict[str, float], nearest: int = 4) -> GradeCutoffs:
    """The cut-off scores that put the target shares of `scores` (one per enterprise of the population)
    in D, C and B (A the rest). For each cut-off the `nearest` distinct scores whose share strictly below
    is closest to its cumulative target are candidates; of the combinations, the one whose worst grade
    share is closest to its target wins (then the smallest total error)."""
    ordered = np.sort(np.asarray(scores, dtype=float))
    if not len(ordered):
        raise ValueError("no population to resolve cut-offs against")
    values = np.unique(ordered)
    candidates = np.append(values, values[-1] + 1)  # a cut above the maximum puts everyone below
    below = np.searchsorted(ordered, candidates, side="left") / len(ordered)
    targets = (shares["D"], shares["D"] + shares["C"], shares["D"] + shares["C"] + shares["B"])

    def near(cumulative: float) -> np.ndarray:
        return np.argsort(np.abs(below - cumulative), kind="stable")[:nearest]

    best: tuple[float, float, int, int, int] | None = None
    for c in near(targets[0]):
        for b in near(targets[1]):
            for a in near(targets[2]):
                if not a > b > c:
                    continue
                realised = (below[c], below[b] - below[c], below[a] - below[b], 1.0 - below[a])
                wanted = (targets[0], targets[1] - targets[0], targets[2] - targets[1], 1.0 - targets[2])
                errors = [abs(x - y) for x, y in zip(realised, wanted, strict=True)]
                key = (max(errors), sum(errors), int(a), int(b), int(c))
                best = key if best is None or key < best else best
    if best is None:
        raise ValueError("the population's scores are too few and far between to make four grades")
    _, _, a, b, c = best
    return GradeCutoffs(int(candidates[a]), int(candidates[b]), int(candidates[c]))


def narrow_band(cutoffs: GradeCutoffs, margin: int) -> str | None:
    """Why the policy's hysteresis margin cannot work with these cut-offs (None when it can)."""
    if margin * 2 > min(cutoffs.a - cutoffs.b, cutoffs.b - cutoffs.c):
        return (
            f"the cut-offs A >= {cutoffs.a}, B >= {cutoffs.b}, C >= {cutoffs.c} leave a grade band narrower "
            f"than twice the policy's hysteresis margin ({margin}): the scores are too close together to "
            "grade with these shares"
        )
    return None


def levels(
    policy: Policy, scores: np.ndarray, rows: Dataset, *, hysteresis: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(level, score) per row as the service's policy layer gives them as of each row's time. With
    `hysteresis`, each enterprise's rows are walked in time order and move from the level of its
    previous row only past the margin (the first from nothing)."""
    level = np.empty(len(rows), dtype=np.int8)
    moved = np.asarray(scores, dtype=float).copy()
    previous: dict[str, GradeLevel] = {}
    for i in np.argsort(rows.inspected_at, kind="stable"):
        uscc = rows.uscc[i]
        ruling = apply_policy(
            policy,
            rows.features_of(int(i)),
            int(scores[i]),
            previous.get(uscc) if hysteresis else None,
            to_datetime(rows.inspected_at[i]),
        )
        previous[uscc] = ruling.level
        level[i], moved[i] = int(ruling.level), ruling.score
    return level, moved


def shares(level: np.ndarray) -> dict[str, float]:
    total = max(len(level), 1)
    return {name: float(np.sum(level == int(GradeLevel[name]))) / total for name in LEVELS}


def graded_risk(level: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Level first, then probability: the order of risk lists (probability < 1, so the level dominates)."""
    return level.astype(float) + np.clip(probability, 0.0, 0.999999)


def without_hard_rules(policy: Policy) -> Policy:
    return replace(policy, hard_rules=())


def population_shares(policy: Policy, scores: np.ndarray, population: Dataset) -> dict[str, dict[str, float]]:
    """Shares of the population per grade: by score alone, and as graded (the hard rules, a provisional
    floor or ceiling) on the population's date."""
    by_score = np.array([int(policy.grade_cutoffs.level_for(score)) for score in scores], dtype=np.int8)
    graded, _ = levels(policy, scores, population, hysteresis=False)
    return {"by_score": shares(by_score), "graded": shares(graded)}


def as_of(population: Dataset) -> datetime | None:
    return to_datetime(population.inspected_at.max()) if len(population) else None
