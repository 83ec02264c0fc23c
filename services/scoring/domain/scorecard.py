"""A points scorecard: per feature, bins with points; the score is the base points plus every feature's
points. Pure Python.

The form is what a learned scorecard (monotone binning, points scaled by points-to-double-the-odds)
produces, so version 0's expert points in the policy file can later be replaced by learned ones.
A missing feature value earns 0 points: neither credit nor penalty.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from services.scoring.domain.grades import Reason


@dataclass(frozen=True)
class NumericBins:
    """Bin i holds values below `upper_bounds[i]` (and at or above the previous bound); the last is inf."""

    feature: str
    upper_bounds: tuple[float, ...]
    points: tuple[int, ...]
    reason: Reason

    def points_for(self, value: float | str | None) -> int:
        if value is None or isinstance(value, str):
            return 0
        return self.points[bisect.bisect_right(self.upper_bounds, value)]


@dataclass(frozen=True)
class CategoryPoints:
    """Points per category name (e.g. a SubjectType), `default` for any other value."""

    feature: str
    points_by_category: Mapping[str, int]
    default: int
    reason: Reason

    @property
    def points(self) -> tuple[int, ...]:
        return (*self.points_by_category.values(), self.default)

    def points_for(self, value: float | str | None) -> int:
        if value is None:
            return 0
        return self.points_by_category.get(str(value), self.default)


Characteristic = NumericBins | CategoryPoints


class Contribution(NamedTuple):
    """One feature's part of a score (a NamedTuple: built for every feature of every grade)."""

    feature: str
    points: int
    # Points below the feature's best bin: what this feature costs the enterprise.
    loss: int
    reason: Reason


@dataclass(frozen=True)
class Scorecard:
    version: str
    base_points: int
    characteristics: tuple[Characteristic, ...]

    @cached_property
    def _best_points(self) -> tuple[int, ...]:
        """Each characteristic's best points (never below 0), worked out once rather than per score."""
        return tuple(max(max(characteristic.points), 0) for characteristic in self.characteristics)

    def score(self, values: Mapping[str, float | str | None]) -> tuple[int, list[Contribution]]:
        """The total score and each feature's contribution, largest loss first (then by feature name)."""
        contributions = []
        for characteristic, best in zip(self.characteristics, self._best_points, strict=True):
            points = characteristic.points_for(values.get(characteristic.feature))
            contributions.append(
                Contribution(characteristic.feature, points, best - points, characteristic.reason)
            )
        total = self.base_points + sum(c.points for c in contributions)
        contributions.sort(key=lambda c: (-c.loss, c.feature))
        return total, contributions
