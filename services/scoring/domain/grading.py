"""From an enterprise's event history to its grade: features -> scorecard -> policy layer. Pure Python.

Order independence: a grade depends on the previous level only through hysteresis, and the previous
level is itself defined by the history: `replay` steps through the history in time order, one step
per distinct event time. Whatever order the events arrived in, replaying the same set gives the same
grade. Ingest stores the level after each event time, so a late event replays only from its own
time on, and an event later than all others is a single step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrity.events.v1 import events_pb2
from services.scoring.domain.features import (
    FEATURE_VERSION,
    Features,
    HistoryFold,
    Timeline,
    compute_features,
)
from services.scoring.domain.grades import MAX_REASONS, Grade, GradeLevel, Reason
from services.scoring.domain.history import HistoryEntry
from services.scoring.domain.policy import HardRule, Policy

# A grade caused by an event is as of the instant after it, so the event itself counts (features read
# only events strictly before `as_of`). Microseconds: the finest step datetimes and the database keep.
EVENT_GRAIN = timedelta(microseconds=1)


def as_of_after(moment: datetime) -> datetime:
    return moment.astimezone(UTC) + EVENT_GRAIN


@dataclass(frozen=True)
class Ruling:
    """What the policy layer makes of a score: the level, the score moved into the level's band, the hard
    rules in force, and whether the grade is provisional."""

    level: GradeLevel
    score: int
    hard: tuple[HardRule, ...]
    provisional: bool
    overridden: bool


def apply_policy(
    policy: Policy, features: Features, score: int, previous: GradeLevel | None, as_of: datetime
) -> Ruling:
    """The policy layer over the scorecard's score. In order: the level by the cut-offs (moving from
    `previous` only past the hysteresis margin); for an enterprise without evidence yet (provisional), the
    policy's floor and ceiling if it sets any; the hard rules, which only ever raise the level; and a
    regulator's override on appeal while it holds. A level a rule moves puts the score inside its band, so
    score, level and violation probability agree. Backtests rank by the same function."""
    level = move_with_hysteresis(policy, previous, score)
    provisional = not features.has_evidence
    if provisional:
        floor, ceiling = policy.provisional.floor, policy.provisional.ceiling
        if floor is not None and level < floor:
            level, score = floor, min(score, _cap(policy, floor))
        if ceiling is not None and level > ceiling:
            level, score = ceiling, max(score, _floor(policy, ceiling))
    hard = tuple(sorted(triggered_hard_rules(policy, features, as_of), key=lambda r: -r.level))
    if hard and hard[0].level > level:
        level, score = hard[0].level, min(score, _cap(policy, hard[0].level))
    overridden = bool(features.override_level and features.override_until and as_of < features.override_until)
    if overridden:
        # A regulator's decision on appeal wins while it holds; the score moves into its band.
        level = GradeLevel(features.override_level)  # type: ignore[arg-type]
        score = min(max(score, _floor(policy, level)), _cap(policy, level))
    return Ruling(level, score, hard, provisional, overridden)


def grade_as_of(
    policy: Policy,
    history: Sequence[events_pb2.Event] | Timeline,
    as_of: datetime,
    previous: GradeLevel | None,
) -> Grade:
    """The grade from the events before `as_of`, moving from `previous` only past the hysteresis margin."""
    return grade_of(policy, compute_features(history, as_of), as_of, previous)


def grade_of(policy: Policy, features: Features, as_of: datetime, previous: GradeLevel | None) -> Grade:
    """The grade of an enterprise with these features as of `as_of`. Every enterprise is scored by the
    scorecard from what is known, one without an inspection or substantiated complaint too (then flagged
    provisional, with the policy's reason first after any hard rule)."""
    score, lost = policy.scorecard.score_and_reasons(features.values)
    ruling = apply_policy(policy, features, score, previous, as_of)
    reasons: list[Reason] = [r.reason for r in ruling.hard]
    if ruling.overridden:
        reasons.insert(0, policy.override_reason)
    if ruling.provisional:
        reasons.append(policy.provisional.reason)
    reasons += lost
    return _grade(policy, ruling.level, ruling.score, ruling.provisional, tuple(reasons[:MAX_REASONS]), as_of)


def replay(
    policy: Policy,
    history: Sequence[events_pb2.Event] | Timeline,
    *,
    previous: GradeLevel | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Grade | None, dict[datetime, GradeLevel]]:
    """Steps through the history in time order, one step per distinct event time at or after `since`
    (all when None), starting from level `previous`; then, if `until` is later than the last step, one
    more step as of `until`. Returns the final grade (None without any step) and the level after each
    event time stepped through. One pass: the history is folded once and read after each step."""
    grade, levels, _ = _replay(policy, history, previous, since, until)
    return grade, levels


def _replay(
    policy: Policy,
    history: Sequence[events_pb2.Event] | Timeline,
    previous: GradeLevel | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[Grade | None, dict[datetime, GradeLevel], FoldedHistory | None]:
    """`replay`, and the fold of the whole history it leaves (None when it graded from another fold)."""
    timeline = history if isinstance(history, Timeline) else Timeline(history)
    fold = HistoryFold()
    grade: Grade | None = None
    level = previous
    levels: dict[datetime, GradeLevel] = {}
    last: datetime | None = None
    read_at: datetime | None = None
    for moment, events in timeline.at_each_time():
        for event in events:
            fold.add(moment, event)
        if since is not None and moment < since:
            continue
        as_of = as_of_after(moment)
        grade = grade_of(policy, fold.features(as_of), as_of, level)
        level = levels[moment] = grade.level
        last, read_at = moment, as_of
    if until is not None and last is None:
        return grade_as_of(policy, timeline, until, level), levels, None
    if until is not None and last is not None and until > as_of_after(last):
        grade = grade_of(policy, fold.features(until), until, level)  # every event is before `until`
        read_at = until
    folded = FoldedHistory(fold, len(timeline.entries), timeline.entries[-1][0], read_at) if last else None
    return grade, levels, folded


class FoldedHistory:
    """An enterprise's history folded through its latest event time, as a replay left it: kept between
    the regrades of a batch, so that an event later than every folded one is one more fold step and one
    read (what the replay from that event's time would do), not a replay of the whole history."""

    __slots__ = ("count", "fold", "last", "read_at")

    def __init__(self, fold: HistoryFold, count: int, last: datetime, read_at: datetime | None) -> None:
        self.fold = fold
        self.count = count  # the entries folded: the first `count` of the history
        self.last = last  # the latest event time folded
        # The latest time the fold was read at (None: not read yet): a read at an earlier time could see
        # less than a fresh fold would (reads drop what fell out of their window), so none is made.
        self.read_at = read_at

    def step(
        self, policy: Policy, entries: Sequence[HistoryEntry], current: Grade, event_time: datetime
    ) -> tuple[Grade, dict[datetime, GradeLevel]] | None:
        """`replay` from `event_time` to `current.as_of` when the event at `event_time` is the one entry
        after those folded and later than all of them; None otherwise (replay then)."""
        as_of = as_of_after(event_time)
        if (
            self.count != len(entries) - 1
            or event_time <= self.last
            or entries[-1].occurred_at != event_time
            or (self.read_at is not None and self.read_at > as_of)
        ):
            return None
        before = entries[-2].level_after if len(entries) > 1 else None
        self.fold.add(event_time, entries[-1].event)
        self.count, self.last, self.read_at = len(entries), event_time, as_of
        previous = None if before is None else GradeLevel(before)
        grade = grade_of(policy, self.fold.features(as_of), as_of, previous)
        levels = {event_time: grade.level}
        if current.as_of > as_of:
            grade = grade_of(policy, self.fold.features(current.as_of), current.as_of, grade.level)
            self.read_at = current.as_of
        return grade, levels


def regrade_after(
    policy: Policy,
    entries: Sequence[HistoryEntry],
    current: Grade | None,
    event_time: datetime,
    folds: dict[str, FoldedHistory] | None = None,
) -> tuple[Grade | None, dict[str, int]]:
    """The grade after an event at `event_time` joined the history (`entries`, in time order, each with
    the level stored after it), and the levels after each event that changed (event id -> level).

    The first grade replays the whole history. Otherwise the replay resumes from the level just before
    the event's time: for the usual event, later than all others, that is one step; a late event
    rewrites the steps from its time on. It stops at the current grade's as_of when that is later.

    `folds` (enterprise -> the fold its last replay left), kept by the caller across the regrades of one
    batch, spares the replay of the whole history for an event later than all others: the fold takes
    just that event. Nothing else differs (a late event, or a first grade, replays as without it)."""
    uscc = entries[-1].event.subject if entries else ""
    kept = None if folds is None or current is None else folds.get(uscc)
    stepped = None if kept is None or current is None else kept.step(policy, entries, current, event_time)
    if stepped is not None:
        grade: Grade | None = stepped[0]
        levels = stepped[1]
    else:
        timeline = Timeline.of_entries(entries)
        if current is None:
            grade, levels, folded = _replay(policy, timeline, None, None, None)
        else:
            earlier = [entry.level_after for entry in entries if entry.occurred_at < event_time]
            previous = GradeLevel(earlier[-1]) if earlier and earlier[-1] is not None else None
            grade, levels, folded = _replay(policy, timeline, previous, event_time, current.as_of)
        if folds is not None:
            if folded is None:
                folds.pop(uscc, None)
            else:
                folds[uscc] = folded
    changed = {
        entry.event_id: int(levels[entry.occurred_at])
        for entry in entries
        if entry.occurred_at in levels and entry.level_after != int(levels[entry.occurred_at])
    }
    return grade, changed


def regrade_as_of(
    policy: Policy, history: Sequence[events_pb2.Event], current: Grade | None, as_of: datetime
) -> Grade | None:
    """The grade as of `as_of`: stepped forward from the current level (so hysteresis holds across daily
    runs), or the whole history replayed for an enterprise never graded."""
    if current is None:
        grade, _ = replay(policy, history, until=as_of)
        return grade
    return grade_as_of(policy, history, as_of, current.level)


def move_with_hysteresis(policy: Policy, previous: GradeLevel | None, score: float) -> GradeLevel:
    """The level for `score`; from `previous`, a move needs the score past the cut-off by the margin."""
    cutoffs, margin = policy.grade_cutoffs, policy.hysteresis_margin
    if previous is None:
        return cutoffs.level_for(score)
    better = cutoffs.level_for(score - margin)
    if better < previous:
        return better
    worse = cutoffs.level_for(score + margin)
    if worse > previous:
        return worse
    return previous


def hard_rule_evidence(features: Features) -> dict[str, datetime | None]:
    """The latest evidence of each hard rule that rests on dated evidence (None: none, lifted by a credit
    repair, or, for the serious-dishonesty list, removed from it)."""
    return {
        "SERIOUS_VIOLATION": features.last_serious_violation,
        "REFUSED_INSPECTION": features.last_refused_inspection,
        "FALSE_CAPABILITY_DECLARATION": features.last_false_capability,
        "SERIOUS_DISHONESTY_LIST": features.dishonesty_listed_since,
    }


def triggered_hard_rules(policy: Policy, features: Features, as_of: datetime) -> list[HardRule]:
    evidence = hard_rule_evidence(features)
    triggered = []
    for rule in policy.hard_rules:
        if rule.code in evidence:
            found = evidence[rule.code]
            # A rule without `years` holds while its evidence stands (the listing, until removed).
            if found is not None and (not rule.years or as_of - found < timedelta(days=365.25 * rule.years)):
                triggered.append(rule)
        elif rule.code == "MANY_OVERDUE_INSTRUMENTS":
            counts = [
                (features.instruments_checked, features.instruments_bad),
                (features.registry_instruments, features.registry_instruments_bad),
            ]
            if any(
                total and bad >= rule.min_instruments and bad / total >= rule.min_share
                for total, bad in counts
            ):
                triggered.append(rule)
    return triggered


def _cap(policy: Policy, level: GradeLevel) -> int:
    """The highest score inside `level`'s band: a level forced by a rule caps the score there, so score,
    grade and violation probability agree."""
    cutoffs = policy.grade_cutoffs
    return {GradeLevel.A: 10**6, GradeLevel.B: cutoffs.a - 1, GradeLevel.C: cutoffs.b - 1}.get(
        level, cutoffs.c - 1
    )


def _floor(policy: Policy, level: GradeLevel) -> int:
    """The lowest score inside `level`'s band."""
    cutoffs = policy.grade_cutoffs
    return {GradeLevel.A: cutoffs.a, GradeLevel.B: cutoffs.b, GradeLevel.C: cutoffs.c}.get(level, -(10**6))


def _grade(
    policy: Policy,
    level: GradeLevel,
    score: int,
    provisional: bool,
    reasons: tuple[Reason, ...],
    as_of: datetime,
) -> Grade:
    return Grade(
        level=level,
        score=score,
        provisional=provisional,
        reasons=reasons,
        as_of=as_of.astimezone(UTC),
        violation_probability=policy.score_scale.violation_probability(score),
        policy_version=policy.version,
        model_version=policy.scorecard.version,
        feature_version=FEATURE_VERSION,
        label=policy.label,
    )
