"""Grading many enterprises at once (recompute): the scorecard's points, scores, levels with hysteresis,
the provisional bounds, hard rules and overrides computed with numpy over a whole batch, giving the same
grades as `grading.grade_of` (the scalar path, which stays the reference and grades each ingested event).

The features are still folded per enterprise in Python (`steps_of`): what is vectorised is everything after
them. An enterprise never graded is replayed through every event time, as `grading.replay` does; the score,
hard rules and override of each step do not depend on the level before it, so they are worked out for all
steps of all enterprises at once, and only the level is then stepped forward (hysteresis), one step index
at a time across the batch. Reasons, probabilities and Grade values are built for the final step only.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from integrity.events.v1 import events_pb2
from services.scoring.domain.features import (
    FEATURE_VERSION,
    Features,
    HistoryFold,
    Timeline,
    compute_features,
)
from services.scoring.domain.grades import MAX_REASONS, Grade, GradeLevel, Reason
from services.scoring.domain.grading import as_of_after, triggered_hard_rules
from services.scoring.domain.policy import HardRule, Policy
from services.scoring.domain.scorecard import OTHER, CategoryPoints, NumericBins

Step = tuple[Features, datetime]


@dataclass(frozen=True)
class Track:
    """One enterprise's grading steps (features, as of), in order, and the level before the first."""

    steps: list[Step]
    previous: GradeLevel | None


def steps_of(history: Sequence[events_pb2.Event], current: Grade | None, as_of: datetime) -> Track:
    """The steps `grading.regrade_as_of` grades: one as of `as_of` from the current level, or for an
    enterprise never graded, one after each event time and then one as of `as_of` if later (as `replay`)."""
    if current is not None:
        return Track([(compute_features(history, as_of), as_of)], current.level)
    timeline = Timeline(history)
    fold = HistoryFold()
    steps: list[Step] = []
    last: datetime | None = None
    for moment, events in timeline.at_each_time():
        for event in events:
            fold.add(moment, event)
        after = as_of_after(moment)
        steps.append((fold.features(after), after))
        last = moment
    if last is None:
        steps.append((compute_features(timeline, as_of), as_of))
    elif as_of > as_of_after(last):
        steps.append((fold.features(as_of), as_of))
    return Track(steps, None)


def _no_hard_evidence(features: Features) -> bool:
    return (
        features.last_serious_violation is None
        and features.last_refused_inspection is None
        and features.last_false_capability is None
        and features.dishonesty_listed_since is None
        and not features.instruments_bad
        and not features.registry_instruments_bad
    )


class BatchGrader:
    """A policy compiled into arrays once (per recompute, per worker process)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        card = policy.scorecard
        self.characteristics = card.characteristics
        self.numeric = [i for i, c in enumerate(card.characteristics) if isinstance(c, NumericBins)]
        self.categorical = [i for i, c in enumerate(card.characteristics) if isinstance(c, CategoryPoints)]
        self.numeric_names = [card.characteristics[i].feature for i in self.numeric]
        self.best = np.array([max(max(c.points), 0) for c in card.characteristics], dtype=np.int64)
        # Contributions are ordered by (-loss, feature); a stable sort keeps the scorecard's order on ties.
        by_name = sorted(range(len(card.characteristics)), key=lambda i: card.characteristics[i].feature)
        self.name_rank = np.empty(len(card.characteristics), dtype=np.int64)
        self.name_rank[by_name] = np.arange(len(by_name))
        self.reasons: list[Reason] = []  # every characteristic's reasons, flat
        self.reason_base: list[int] = []
        self.category_index: dict[int, dict[str, int]] = {}
        for i, characteristic in enumerate(card.characteristics):
            self.reason_base.append(len(self.reasons))
            if isinstance(characteristic, NumericBins):
                self.reasons.extend(characteristic.reasons)
            else:
                names = list(characteristic.reasons)
                self.category_index[i] = {name: n for n, name in enumerate(names)}
                self.reasons.extend(characteristic.reasons[name] for name in names)
        self.category_cache: dict[int, dict[object, tuple[int, int]]] = {i: {} for i in self.categorical}
        cut = policy.grade_cutoffs
        self.cutoffs = (cut.a, cut.b, cut.c)
        self.cap = np.array([0, 10**6, cut.a - 1, cut.b - 1, cut.c - 1], dtype=np.int64)
        self.floor = np.array([0, cut.a, cut.b, cut.c, -(10**6)], dtype=np.int64)
        self.probabilities: dict[int, float] = {}

    @staticmethod
    def track(history: Sequence[events_pb2.Event], current: Grade | None, as_of: datetime) -> Track:
        """The steps of one enterprise (see `steps_of`)."""
        return steps_of(history, current, as_of)

    # -- the scorecard over all rows -----------------------------------------------------------------

    def _numeric_matrix(self, values: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(values, missing) of the numeric characteristics' features, rows x characteristics."""
        if not self.numeric_names:
            return np.zeros((len(values), 0)), np.zeros((len(values), 0), dtype=bool)
        names = self.numeric_names
        get = operator.itemgetter(*names)
        try:
            read = [get(row) for row in values]
        except KeyError:  # a row without one of the features: missing, as `values.get` gives
            read = [tuple(row.get(name) for name in names) for row in values]
        raw = np.array(read, dtype=object).reshape(len(values), len(names))
        missing = np.equal(raw, None)
        filled = np.where(missing, 0.0, raw)
        try:
            numbers = filled.astype(np.float64)
        except (TypeError, ValueError):  # a text value where a number belongs: missing, as in lookup
            texts = np.vectorize(lambda v: isinstance(v, str), otypes=[bool])(filled)
            missing |= texts
            numbers = np.where(texts, 0.0, filled).astype(np.float64)
        return numbers, missing

    def points(self, values: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, loss, reason id or -1) per row; loss and reasons rows x characteristics."""
        rows, width = len(values), len(self.characteristics)
        points = np.zeros((rows, width), dtype=np.int64)
        reason = np.full((rows, width), -1, dtype=np.int64)
        numbers, missing = self._numeric_matrix(values)
        for column, i in enumerate(self.numeric):
            bins: NumericBins = self.characteristics[i]  # type: ignore[assignment]
            index = np.searchsorted(
                np.asarray(bins.upper_bounds, dtype=np.float64), numbers[:, column], "right"
            )
            index = np.minimum(index, len(bins.points) - 1)
            absent = missing[:, column]
            points[:, i] = np.where(absent, 0, np.asarray(bins.points, dtype=np.int64)[index])
            reason[:, i] = np.where(absent, -1, self.reason_base[i] + index)
        for i in self.categorical:
            looked = [self._category(i, row.get(self.characteristics[i].feature)) for row in values]
            pairs = np.array(looked, dtype=np.int64).reshape(rows, 2)
            points[:, i], reason[:, i] = pairs[:, 0], pairs[:, 1]
        loss = np.where(reason >= 0, self.best[None, :] - points, 0)
        return self.policy.scorecard.base_points + points.sum(axis=1), loss, reason

    def _category(self, i: int, value: object) -> tuple[int, int]:
        cache = self.category_cache[i]
        found = cache.get(value)
        if found is None:
            characteristic: CategoryPoints = self.characteristics[i]  # type: ignore[assignment]
            if value is None:
                found = (0, -1)
            else:
                category = characteristic.category_of(str(value))
                points = (
                    characteristic.default
                    if category == OTHER
                    else characteristic.points_by_category[category]
                )
                found = (points, self.reason_base[i] + self.category_index[i][category])
            cache[value] = found
        return found

    # -- the policy layer ----------------------------------------------------------------------------

    def _level_for(self, score: np.ndarray) -> np.ndarray:
        a, b, c = self.cutoffs
        return np.where(score >= a, 1, np.where(score >= b, 2, np.where(score >= c, 3, 4)))

    def _rule(
        self,
        previous: np.ndarray,
        score: np.ndarray,
        provisional: np.ndarray,
        hard: np.ndarray,
        override: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`grading.apply_policy` for many rows: (level, score); previous 0 = none, hard/override 0 = none."""
        margin = self.policy.hysteresis_margin
        plain = self._level_for(score)
        better, worse = self._level_for(score - margin), self._level_for(score + margin)
        moved = np.where(better < previous, better, np.where(worse > previous, worse, previous))
        level = np.where(previous == 0, plain, moved)
        score = score.copy()
        floor, ceiling = self.policy.provisional.floor, self.policy.provisional.ceiling
        if floor is not None:
            lift = provisional & (level < int(floor))
            level = np.where(lift, int(floor), level)
            score = np.where(lift, np.minimum(score, self.cap[int(floor)]), score)
        if ceiling is not None:
            hold = provisional & (level > int(ceiling))
            level = np.where(hold, int(ceiling), level)
            score = np.where(hold, np.maximum(score, self.floor[int(ceiling)]), score)
        raised = hard > level
        level = np.where(raised, hard, level)
        score = np.where(raised, np.minimum(score, self.cap[hard]), score)
        held = override > 0
        level = np.where(held, override, level)
        score = np.where(held, np.clip(score, self.floor[override], self.cap[override]), score)
        return level, score

    def grade(self, tracks: Sequence[Track]) -> list[Grade | None]:
        """The final grade of each track (None for a track without steps), as `grading.grade_of` gives
        it at the last step after stepping through the others."""
        features = [features for track in tracks for features, _ in track.steps]
        moments = [moment for track in tracks for _, moment in track.steps]
        if not features:
            return [None] * len(tracks)
        score, loss, reason = self.points([f.values for f in features])
        provisional = np.array([not f.has_evidence for f in features], dtype=bool)
        rules: list[tuple[HardRule, ...]] = [
            ()
            if _no_hard_evidence(f)
            else tuple(sorted(triggered_hard_rules(self.policy, f, moment), key=lambda r: -r.level))
            for f, moment in zip(features, moments, strict=True)
        ]
        hard = np.array([int(r[0].level) if r else 0 for r in rules], dtype=np.int64)
        override = np.array(
            [
                f.override_level if f.override_level and f.override_until and moment < f.override_until else 0
                for f, moment in zip(features, moments, strict=True)
            ],
            dtype=np.int64,
        )
        counts = np.array([len(track.steps) for track in tracks], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        level = np.zeros(len(features), dtype=np.int64)
        final_score = score.copy()
        previous = np.array(
            [int(t.previous) if t.previous is not None else 0 for t in tracks], dtype=np.int64
        )
        for k in range(int(counts.max())):
            alive = counts > k
            rows = starts[alive] + k
            level[rows], final_score[rows] = self._rule(
                previous[alive], score[rows], provisional[rows], hard[rows], override[rows]
            )
            previous[alive] = level[rows]
        lasts = starts + counts - 1
        last_loss = loss[lasts]
        order = np.argsort(
            np.where(last_loss > 0, -last_loss * len(self.name_rank) + self.name_rank, 1 << 60),
            axis=1,
            kind="stable",
        )[:, :MAX_REASONS]
        # The reasons of the largest losses, first to last; -1 past the features that cost nothing.
        shown = np.where(
            np.take_along_axis(last_loss, order, 1) > 0, np.take_along_axis(reason[lasts], order, 1), -1
        ).tolist()
        columns = zip(
            lasts.tolist(),
            counts.tolist(),
            shown,
            level[lasts].tolist(),
            final_score[lasts].tolist(),
            (override[lasts] > 0).tolist(),
            provisional[lasts].tolist(),
            strict=True,
        )
        return [
            self._grade(rules[row], held, fresh, [i for i in ids if i >= 0], graded, scored, moments[row])
            if steps
            else None
            for row, steps, ids, graded, scored, held, fresh in columns
        ]

    def _grade(
        self,
        hard: tuple[HardRule, ...],
        overridden: bool,
        provisional: bool,
        reason_ids: list[int],
        level: int,
        score: int,
        as_of: datetime,
    ) -> Grade:
        policy = self.policy
        reasons: list[Reason] = [rule.reason for rule in hard]
        if overridden:
            reasons.insert(0, policy.override_reason)
        if provisional:
            reasons.append(policy.provisional.reason)
        reasons += [self.reasons[i] for i in reason_ids]
        probability = self.probabilities.get(score)
        if probability is None:
            probability = self.probabilities[score] = policy.score_scale.violation_probability(score)
        return Grade(
            level=GradeLevel(level),
            score=score,
            provisional=bool(provisional),
            reasons=tuple(reasons[:MAX_REASONS]),
            as_of=as_of.astimezone(UTC),
            violation_probability=probability,
            policy_version=policy.version,
            model_version=policy.scorecard.version,
            feature_version=FEATURE_VERSION,
            label=policy.label,
        )
