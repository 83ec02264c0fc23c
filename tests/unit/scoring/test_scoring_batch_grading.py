"""Vectorised grading (recompute) gives the same grades as the scalar path, field by field: over a
generated province with scoring's own decisions sprinkled in, under several policies, for enterprises
never graded (replayed) and stepped forward from a current grade; and over random features."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.events.v1 import events_pb2
from operations.demo.province import generate_province
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.batch_grading import BatchGrader, Track, steps_of
from services.scoring.domain.features import NUMERIC_FEATURES, Features
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.grading import grade_of, regrade_as_of
from services.scoring.domain.policy import Policy, Provisional
from services.scoring.use_cases.recompute import batch_grader
from shared.events import Event, new_event
from tests.unit.scoring.fakes import serious_violation_at_d

END = datetime(2026, 10, 1, tzinfo=UTC)


def policies() -> list[Policy]:
    shipped = load_policy()
    floor = replace(shipped.provisional, floor=GradeLevel.B, ceiling=GradeLevel.C)
    return [
        shipped,
        serious_violation_at_d(shipped),
        replace(shipped, provisional=floor, hysteresis_margin=15),
        replace(shipped, provisional=Provisional(shipped.provisional.reason, ceiling=GradeLevel.B)),
    ]


def decisions(uscc: str, index: int, events: list[Event]) -> list[Event]:
    """Scoring's own decisions for some enterprises: overrides (some lapsed, some reviewed), listings
    (some removed) and credit repairs, at times inside the enterprise's history."""
    rng = random.Random(index)
    first = events[0].occurred_at.ToDatetime(tzinfo=UTC)
    span = max((END - first).days, 2)

    def at(payload: object, day: int) -> Event:
        return new_event("//scoring", uscc, payload, occurred_at=first + timedelta(days=day, hours=3))

    added = []
    if index % 3 == 0:
        overridden = events_pb2.GradeOverridden(
            appeal=f"a{index}", level=rng.randint(1, 4), decided_by="wang"
        )
        overridden.expire_time.FromDatetime(first + timedelta(days=rng.randint(span // 2, span + 200)))
        added.append(at(overridden, rng.randint(1, span - 1)))
        if index % 2 == 0:
            reviewed = events_pb2.OverrideReviewed(appeal=f"a{index}", reviewed_by="li")
            reviewed.expire_time.FromDatetime(first + timedelta(days=span - rng.randint(0, 60)))
            added.append(at(reviewed, span - 1))
    if index % 4 == 1:
        added.append(
            at(events_pb2.DishonestyListed(listing=f"l{index}", listed_by="c"), rng.randint(1, span - 1))
        )
        if index % 8 == 1:
            added.append(at(events_pb2.DishonestyRemoved(listing=f"l{index}", removed_by="c"), span - 1))
    if index % 5 == 2:
        code = rng.choice(["SERIOUS_VIOLATION", "REFUSED_INSPECTION", "FALSE_CAPABILITY_DECLARATION"])
        added.append(
            at(events_pb2.CreditRepairGranted(rule_code=code, decided_by="w"), rng.randint(1, span - 1))
        )
    return added


@cache
def province() -> list[tuple[str, list[Event]]]:
    histories = []
    for index, enterprise in enumerate(generate_province(240, seed=17, end=END)):
        events = list(enterprise.events)
        histories.append((enterprise.uscc, events + decisions(enterprise.uscc, index, events)))
    return histories


@pytest.mark.parametrize("policy_index", range(4))
def test_vectorised_grades_equal_the_scalar_grades_over_a_province(policy_index: int) -> None:
    policy = policies()[policy_index]
    grader = BatchGrader(policy)
    for as_of in (END - timedelta(days=900), END - timedelta(days=200), END + timedelta(days=400)):
        histories = province()
        # Never graded (replayed through every event time), then stepped forward from a current grade
        # (an earlier one, so hysteresis moves from a level that is not always the one it would give).
        firsts = [regrade_as_of(policy, events, None, as_of) for _, events in histories]
        assert [g for g in grader.grade([steps_of(e, None, as_of) for _, e in histories])] == firsts
        later = as_of + timedelta(days=45)
        currents = [g for g in firsts if g is not None]
        with_current = [
            (events, g) for (_, events), g in zip(histories, firsts, strict=True) if g is not None
        ]
        expected = [regrade_as_of(policy, events, g, later) for events, g in with_current]
        assert grader.grade([steps_of(events, g, later) for events, g in with_current]) == expected
        assert len(currents) > 200
    levels = {g.level for g in firsts if g is not None}
    assert len(levels) >= 3  # the province spreads over the levels, so the comparison means something


def test_the_province_exercises_every_branch_of_the_policy_layer() -> None:
    """Hard rules, overrides and provisional grades all occur (else the identity proves little)."""
    reasons = {
        reason.code
        for _, events in province()
        for grade in [regrade_as_of(policies()[0], events, None, END)]
        if grade is not None
        for reason in grade.reasons
    }
    assert {"SERIOUS_DISHONESTY_LIST", "REGULATOR_OVERRIDE", policies()[0].provisional.reason.code} <= reasons


_MOMENT = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC))
_VALUE = st.one_of(st.none(), st.floats(min_value=-5, max_value=3000, allow_nan=False), st.integers(0, 9))


@st.composite
def features(draw: st.DrawFn) -> Features:
    values: dict[str, float | str | None] = {name: draw(_VALUE) for name in NUMERIC_FEATURES}
    values["subject_type"] = draw(
        st.sampled_from(["SUBJECT_TYPE_TRADE_INSTRUMENT_USER", "SUBJECT_TYPE_UNKNOWN_9", "MISSING"])
    )
    values["size_class"] = draw(st.sampled_from(["SIZE_CLASS_MICRO", "SIZE_CLASS_LARGE", "MISSING"]))
    if draw(st.booleans()):
        values.pop("size_class")  # a feature the row lacks is missing
    maybe = st.one_of(st.none(), _MOMENT)
    checked = draw(st.integers(0, 12))
    registry = draw(st.integers(0, 12))
    return Features(
        values=values,
        has_evidence=draw(st.booleans()),
        last_serious_violation=draw(maybe),
        last_refused_inspection=draw(maybe),
        last_false_capability=draw(maybe),
        dishonesty_listed_since=draw(maybe),
        instruments_checked=checked,
        instruments_bad=draw(st.integers(0, checked)),
        registry_instruments=registry,
        registry_instruments_bad=draw(st.integers(0, registry)),
        override_level=draw(st.one_of(st.none(), st.integers(1, 4))),
        override_until=draw(maybe),
    )


_STEPS = st.lists(st.tuples(features(), _MOMENT), min_size=1, max_size=4)
_TRACKS = st.lists(
    st.tuples(_STEPS, st.one_of(st.none(), st.sampled_from(list(GradeLevel)))), min_size=1, max_size=6
)


@settings(max_examples=150, deadline=None)
@given(tracks=_TRACKS, policy_index=st.integers(0, 3))
def test_vectorised_grades_equal_the_scalar_grades_over_random_features(
    tracks: list[tuple[list[tuple[Features, datetime]], GradeLevel | None]], policy_index: int
) -> None:
    policy = policies()[policy_index]
    expected = []
    for steps, previous in tracks:
        level = previous
        for values, as_of in steps:
            grade = grade_of(policy, values, as_of, level)
            level = grade.level
        expected.append(grade)
    assert BatchGrader(policy).grade([Track(steps, previous) for steps, previous in tracks]) == expected


def test_without_numpy_recompute_grades_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service image has no numpy: recompute falls back to the scalar path instead of failing."""
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` raises ImportError
    monkeypatch.delitem(sys.modules, "services.scoring.domain.batch_grading")
    assert batch_grader(policies()[0]) is None
    monkeypatch.undo()
    assert batch_grader(policies()[0]) is not None
