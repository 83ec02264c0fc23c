"""The GradeChanged event ingest and recompute stage, built in place for speed: exactly the envelope and
payload the generic builders (shared.events.new_event, mapping's messages) give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.mapping import grade_to_proto
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel, Reason
from services.scoring.use_cases.ingest import SOURCE, grade_changed_event, grade_changed_id
from shared.events import new_event

REASONS = [
    Reason("A", "a", "甲"),
    Reason("LAST_INSPECTION", "Last inspection 30-90 days ago.", "上次检查"),
    Reason("", "", ""),
]


def reference(change: GradeChange, cause: str) -> events_pb2.Event:
    """As the event was built before: generic messages, then copied into the envelope."""
    uscc, grade, previous, region_code = change
    message = scoring_pb2.Grade(
        name=f"enterprises/{uscc}/grade",
        level=scoring_pb2.GradeLevel.Value(f"GRADE_LEVEL_{grade.level.name}"),
        score=grade.score,
        provisional=grade.provisional,
        reasons=[scoring_pb2.Reason(code=r.code, text=r.text, text_zh=r.text_zh) for r in grade.reasons],
        model_version=grade.model_version,
        policy_version=grade.policy_version,
        feature_version=grade.feature_version,
        violation_probability=grade.violation_probability,
        label=grade.label,
    )
    message.as_of.FromDatetime(grade.as_of)
    previous_level = 0 if previous is None else int(previous.level)
    payload = events_pb2.GradeChanged(grade=message, previous_level=previous_level, region_code=region_code)  # type: ignore[arg-type]
    event = new_event(SOURCE, uscc, payload, occurred_at=grade.as_of)
    event.id = str(uuid.uuid5(uuid.UUID("5f0c1c2e-9a43-4d0e-9d55-3f2b8c6a7e10"), f"{uscc}/{cause}"))
    return event


grades = st.builds(
    Grade,
    level=st.sampled_from(list(GradeLevel)),
    score=st.integers(-2000, 2000),
    provisional=st.booleans(),
    reasons=st.lists(st.sampled_from(REASONS), max_size=4).map(tuple),
    as_of=st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC)),
    violation_probability=st.floats(0, 1),
    policy_version=st.text(max_size=8),
    model_version=st.text(max_size=8),
    feature_version=st.text(max_size=8),
    label=st.sampled_from(["", "major_or_worse"]),
)


@given(grades, st.one_of(st.none(), grades), st.sampled_from(["", "610112"]), st.text(max_size=10))
def test_the_event_is_the_one_the_generic_builders_give(
    grade: Grade, previous: Grade | None, region_code: str, cause: str
) -> None:
    change = GradeChange("91610112MA0000001X", grade, previous, region_code)
    built, expected = grade_changed_event(change, cause), reference(change, cause)
    for event in (built, expected):
        event.ClearField("recorded_at")  # the clock's
    assert built == expected
    assert built.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    assert grade_to_proto(change.uscc, grade) == expected.grade_changed.grade


@given(st.text(max_size=20), st.text(max_size=40))
def test_the_event_id_is_the_uuid5_of_enterprise_and_cause(uscc: str, cause: str) -> None:
    namespace = uuid.UUID("5f0c1c2e-9a43-4d0e-9d55-3f2b8c6a7e10")
    assert grade_changed_id(uscc, cause) == str(uuid.uuid5(namespace, f"{uscc}/{cause}"))
