"""Grades: their levels, reasons, the points-to-odds scale and the cut-offs between levels. Pure Python.

No gRPC, Kafka or database here: the adapters and entrypoints translate at the edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import NamedTuple

from services.scoring.domain.features.catalogue import FEATURE_VERSION, MAJOR, MINOR

MODEL_VERSION = "scorecard-v2-expert"
# What the model predicts, a policy's choice: which inspection outcomes count as "the violation", by the
# least severity that counts (tampering found or a refused inspection is serious).
LABEL_SEVERITY = {"major_or_worse": MAJOR, "non_compliant": MINOR}
LABELS = tuple(LABEL_SEVERITY)
DEFAULT_LABEL = "major_or_worse"
# More than four principal reasons is deemed unhelpful (US adverse-action practice, DOMAIN.md).
MAX_REASONS = 4


class GradeLevel(IntEnum):
    """A is the lowest risk. The numbers match `integrity.scoring.v1.GradeLevel`."""

    A = 1
    B = 2
    C = 3
    D = 4

    @classmethod
    def parse(cls, letter: str) -> GradeLevel:
        try:
            return cls[letter]
        except KeyError:
            raise ValueError(f"grade level must be one of A, B, C, D, got {letter!r}") from None


@dataclass(frozen=True)
class Reason:
    """One principal reason for a grade: a stable code and plain-language text in English and Chinese."""

    code: str
    text: str
    text_zh: str


@dataclass(frozen=True)
class ScoreScale:
    """Scorecard points <-> odds of no violation: `base_score` means `base_odds`:1, and every
    `points_to_double_odds` points more double the odds."""

    base_score: int
    base_odds: float
    points_to_double_odds: int

    def odds(self, score: float) -> float:
        return self.base_odds * 2.0 ** ((score - self.base_score) / self.points_to_double_odds)

    def violation_probability(self, score: float) -> float:
        return 1.0 / (1.0 + self.odds(score))

    def score_for(self, violation_probability: float) -> float:
        """The inverse: the points that stand for a given violation probability (0 < p < 1)."""
        odds = (1.0 - violation_probability) / violation_probability
        return self.base_score + self.points_to_double_odds * math.log2(odds / self.base_odds)


@dataclass(frozen=True)
class GradeCutoffs:
    """The lowest score that still earns A, B and C; anything below `c` is D."""

    a: int
    b: int
    c: int

    def level_for(self, score: float) -> GradeLevel:
        if score >= self.a:
            return GradeLevel.A
        if score >= self.b:
            return GradeLevel.B
        if score >= self.c:
            return GradeLevel.C
        return GradeLevel.D


@dataclass(frozen=True)
class Grade:
    """An enterprise's integrity grade as of a point in time, with the versions that produced it."""

    level: GradeLevel
    score: int
    provisional: bool
    reasons: tuple[Reason, ...]
    as_of: datetime
    violation_probability: float
    policy_version: str
    model_version: str = MODEL_VERSION
    feature_version: str = FEATURE_VERSION
    # The outcome `violation_probability` is about (the policy's label); "" on grades recorded before it.
    label: str = ""

    def __post_init__(self) -> None:
        if len(self.reasons) > MAX_REASONS:
            raise ValueError(f"a grade carries at most {MAX_REASONS} reasons, got {len(self.reasons)}")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if not 0.0 <= self.violation_probability <= 1.0:
            raise ValueError(f"violation_probability must be in [0, 1], got {self.violation_probability}")


def same_assessment(a: Grade, b: Grade) -> bool:
    """Everything but as_of is equal: nothing a reader would see as a change of grade."""
    return _assessment(a) == _assessment(b)


def _assessment(grade: Grade) -> tuple[object, ...]:
    return (
        grade.level,
        grade.score,
        grade.provisional,
        grade.reasons,
        grade.model_version,
        grade.policy_version,
        grade.feature_version,
        grade.label,
    )


class GradeChange(NamedTuple):
    """A new grade for an enterprise (registered in `region_code`) and the one it replaces (None for its
    first)."""

    uscc: str
    grade: Grade
    previous: Grade | None
    region_code: str

    @property
    def level_changed(self) -> bool:
        return self.previous is None or self.previous.level != self.grade.level
