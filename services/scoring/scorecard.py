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

from services.scoring.domain import Reason


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


@dataclass(frozen=True)
class Contribution:
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

    def score(self, values: Mapping[str, float | str | None]) -> tuple[int, list[Contribution]]:
        """The total score and each feature's contribution, largest loss first (then by feature name)."""
        contributions = []
        for characteristic in self.characteristics:
            points = characteristic.points_for(values.get(characteristic.feature))
            best = max(max(characteristic.points), 0)
            contributions.append(
                Contribution(characteristic.feature, points, best - points, characteristic.reason)
            )
        total = self.base_points + sum(c.points for c in contributions)
        contributions.sort(key=lambda c: (-c.loss, c.feature))
        return total, contributions
