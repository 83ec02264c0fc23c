"""A points scorecard: per feature, bins (or categories) with points; the score is the base points plus
every feature's points. Pure Python.

The form is what a learned scorecard produces (binned features, points scaled by points-to-double-the-odds),
so the policy's expert points and a learned, promoted scorecard are read the same way.

- A missing feature value earns 0 points and gives no reason.
- Each bin (category) has its own reason, so the words can say which bin the enterprise is in, e.g.
  "Last inspection 132-386 days ago" (see `render_bin`).
- A hierarchical code (an industry class, a county) scores as itself when the scorecard has points for
  it, else as its nearest coarser code that has (`parent_code`), else as `default`.
- A scorecard may carry the grade cut-offs that go with its points: a learned one carries those resolved
  from the policy's target shares against its training population (see domain/policy.py).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

from services.scoring.domain.grades import GradeCutoffs, Reason

OTHER = "OTHER"  # how a scorecard file names the categories it has no points of their own for


@dataclass(frozen=True)
class NumericBins:
    """Bin i holds values below `upper_bounds[i]` (and at or above the previous bound); the last is inf."""

    feature: str
    upper_bounds: tuple[float, ...]
    points: tuple[int, ...]
    reasons: tuple[Reason, ...]  # one per bin

    def lookup(self, value: float | str | None) -> tuple[int, Reason | None]:
        """(points, reason) of a value; a missing value earns 0 points and no reason."""
        if value is None or isinstance(value, str):
            return 0, None
        index = bisect.bisect_right(self.upper_bounds, value)
        return self.points[index], self.reasons[index]

    def points_for(self, value: float | str | None) -> int:
        return self.lookup(value)[0]


@dataclass(frozen=True)
class CategoryPoints:
    """Points per category name (e.g. a SubjectType, an industry code), `default` for any other value.

    With a `hierarchy` (prefix lengths of the coarser levels, finest first), a code without points of its
    own scores as its nearest coarser code that has some."""

    feature: str
    points_by_category: Mapping[str, int]
    default: int
    reasons: Mapping[str, Reason]  # per category, and OTHER for the default
    hierarchy: tuple[int, ...] = ()

    @property
    def points(self) -> tuple[int, ...]:
        return (*self.points_by_category.values(), self.default)

    def category_of(self, value: str) -> str:
        """The category a value scores as: itself, its nearest coarser code with points, or OTHER."""
        if value in self.points_by_category:
            return value
        for length in self.hierarchy:
            parent = parent_code(value, length)
            if parent in self.points_by_category:
                return parent
        return OTHER

    def lookup(self, value: float | str | None) -> tuple[int, Reason | None]:
        if value is None:
            return 0, None
        category = self.category_of(str(value))
        points = self.default if category == OTHER else self.points_by_category[category]
        return points, self.reasons[category]

    def points_for(self, value: float | str | None) -> int:
        return self.lookup(value)[0]


Characteristic = NumericBins | CategoryPoints


def parent_code(code: str, length: int) -> str:
    """A hierarchical code at a coarser level: cut to `length` characters. An all-digit code (a GB/T 2260
    division) keeps its length, padded with zeros: 610112 -> 610100 at length 4. Industry codes (GB/T
    4754, letter + digits) are cut: F5265 -> F526 -> F52 -> F."""
    if code.isdigit():
        return code[:length].ljust(len(code), "0")
    return code[:length]


class Contribution(NamedTuple):
    """One feature's part of a score (a NamedTuple: built for every feature of every grade)."""

    feature: str
    points: int
    # Points below the feature's best bin: what this feature costs the enterprise (0 when missing).
    loss: int
    reason: Reason | None


@dataclass(frozen=True)
class Scorecard:
    version: str
    base_points: int
    characteristics: tuple[Characteristic, ...]
    # The outcome the points predict (a policy label, see domain/policy.py); "" when not stated.
    label: str = ""
    # The grade cut-offs that go with these points, when the scorecard carries them, and the target shares
    # of the population they were resolved from (empty for cut-offs set by hand).
    cutoffs: GradeCutoffs | None = None
    cutoff_shares: Mapping[str, float] = field(default_factory=dict)

    @cached_property
    def _best_points(self) -> tuple[int, ...]:
        """Each characteristic's best points (never below 0), worked out once rather than per score."""
        return tuple(max(max(characteristic.points), 0) for characteristic in self.characteristics)

    def score(self, values: Mapping[str, float | str | None]) -> tuple[int, list[Contribution]]:
        """The total score and each feature's contribution, largest loss first (then by feature name)."""
        contributions = []
        total = self.base_points
        for characteristic, best in zip(self.characteristics, self._best_points, strict=True):
            points, reason = characteristic.lookup(values.get(characteristic.feature))
            total += points
            loss = 0 if reason is None else best - points
            contributions.append(Contribution(characteristic.feature, points, loss, reason))
        contributions.sort(key=lambda c: (-c.loss, c.feature))
        return total, contributions

    def score_and_reasons(self, values: Mapping[str, float | str | None]) -> tuple[int, list[Reason]]:
        """The total score and the reasons of the features that cost points, in `score`'s order (largest
        loss first, then by feature name): what a grade shows, without a Contribution for every feature
        (grading calls this for every event and every enterprise of a recompute)."""
        total = self.base_points
        lost: list[tuple[int, str, Reason]] = []
        for feature, bounds, points, reasons, categories, best in self._table:
            value = values.get(feature)
            if value is None:
                continue  # 0 points, no reason
            if categories is None:
                if isinstance(value, str):
                    continue
                index = bisect.bisect_right(bounds, value)
                earned, reason = points[index], reasons[index]
            else:
                key = str(value)
                found = categories.get(key)
                if found is None:
                    if len(categories) >= _CATEGORY_MEMO:
                        categories.clear()
                    found = categories[key] = self._characteristic(feature).lookup(key)
                earned, reason = found
            total += earned
            if reason is not None and best > earned:
                lost.append((earned - best, feature, reason))
        lost.sort(key=_LOSS_ORDER)
        return total, [reason for _, _, reason in lost]

    @cached_property
    def _table(
        self,
    ) -> tuple[
        tuple[str, tuple[float, ...], tuple[int, ...], tuple[Reason, ...], dict[str, Any] | None, int], ...
    ]:
        """Per characteristic: feature, bounds, points, reasons (numeric bins), a memo of the points and
        reason of each category seen (categories), and its best points."""
        return tuple(
            (c.feature, c.upper_bounds, c.points, c.reasons, None, best)
            if isinstance(c, NumericBins)
            else (c.feature, (), (), (), {}, best)
            for c, best in zip(self.characteristics, self._best_points, strict=True)
        )

    def _characteristic(self, feature: str) -> Characteristic:
        return next(c for c in self.characteristics if c.feature == feature)


_LOSS_ORDER = itemgetter(0, 1)  # (points - best, feature): the largest loss first, then by name
_CATEGORY_MEMO = 10_000  # categories remembered per characteristic (industries, districts)


# -- reason words -------------------------------------------------------------------------------------


def render_bin(lower: float, upper: float, chinese: bool = False) -> str:
    """A bin [lower, upper) in words: "below 30", "30-90", "365 or more" (低于 30, 30-90, 365 及以上)."""
    if lower == -math.inf and upper == math.inf:
        return "任意值" if chinese else "any value"
    if lower == -math.inf:
        return f"低于 {_number(upper)}" if chinese else f"below {_number(upper)}"
    if upper == math.inf:
        return f"{_number(lower)} 及以上" if chinese else f"{_number(lower)} or more"
    return f"{_number(lower)}-{_number(upper)}"


def _number(value: float) -> str:
    if float(value).is_integer() or abs(value) >= 10:
        return str(round(value))
    return f"{value:.2g}"


def bin_reasons(code: str, text: str, text_zh: str, upper_bounds: tuple[float, ...]) -> tuple[Reason, ...]:
    """One reason per bin, `{bin}` in the texts replaced by the bin's range."""
    lowers = (-math.inf, *upper_bounds[:-1])
    return tuple(
        Reason(
            code,
            text.replace("{bin}", render_bin(lower, upper)),
            text_zh.replace("{bin}", render_bin(lower, upper, chinese=True)),
        )
        for lower, upper in zip(lowers, upper_bounds, strict=True)
    )


def category_reasons(
    code: str,
    text: str,
    text_zh: str,
    categories: tuple[str, ...],
    labels: Mapping[str, str],
    labels_zh: Mapping[str, str],
) -> dict[str, Reason]:
    """One reason per category and OTHER, `{category}` replaced by its label (or the category itself)."""
    reasons = {}
    for category in (*categories, OTHER):
        default_label = "other" if category == OTHER else category
        default_label_zh = "其他" if category == OTHER else category
        reasons[category] = Reason(
            code,
            text.replace("{category}", labels.get(category, default_label)),
            text_zh.replace("{category}", labels_zh.get(category, default_label_zh)),
        )
    return reasons
