"""A batch keeps each enterprise's fold between its events (`regrade_after(..., folds)`): the grades and
levels must be exactly those of the replay without it, whatever the arrival order, late events, grades
moved forward in time meanwhile (a recompute's), and reads whose window drops old evidence."""

from __future__ import annotations

import bisect
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.features import occurred_at
from services.scoring.domain.grades import Grade
from services.scoring.domain.grading import FoldedHistory, regrade_after
from services.scoring.domain.history import HistoryEntry
from shared.events import Event, new_event
from tests.unit.scoring.fakes import Outcome, inspection, registration, uscc

POLICY = load_policy()
T0 = datetime(2021, 1, 1, tzinfo=UTC)
CODE = uscc(7)
OUTCOMES = [
    Outcome.INSPECTION_OUTCOME_COMPLIANT,
    Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
]


def _day(days: int) -> datetime:
    return T0 + timedelta(days=days)


def verification(instrument: str, at: datetime, late: bool) -> Event:
    """A passing verification of an instrument registered due on day 100: late when done after it."""
    done = (_day(130) if late else _day(90)).date().isoformat()
    payload = events_pb2.VerificationRecorded(
        instrument=instrument,
        verification=enterprises_pb2.Verification(
            verification_date=done,
            result=enterprises_pb2.VERIFICATION_RESULT_PASS,
            next_due_date="2031-01-01",
        ),
    )
    return new_event("//integrity/enterprises", CODE, payload, occurred_at=at)


def instrument(name: str, at: datetime) -> Event:
    registered = enterprises_pb2.Instrument(
        name=name,
        usage=enterprises_pb2.INSTRUMENT_USAGE_IN_USE,
        last_verification=enterprises_pb2.Verification(
            result=enterprises_pb2.VERIFICATION_RESULT_PASS, next_due_date=_day(100).date().isoformat()
        ),
    )
    return new_event(
        "//integrity/enterprises",
        CODE,
        events_pb2.InstrumentRegistered(instrument=registered),
        occurred_at=at,
    )


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[Event, int]]:
    """Events of one enterprise over four years (verifications fall out of their 730-day window), in a
    random order, each with the days its grade is moved forward after it (0: not moved)."""
    days = st.integers(0, 1500)
    events = [registration(CODE, occurred_at=_day(draw(st.integers(0, 5))))]
    for n in range(draw(st.integers(0, 6))):
        at = _day(draw(days))
        events.append(inspection(CODE, at, draw(st.sampled_from(OUTCOMES)), name=f"inspections/{n}"))
    for n in range(draw(st.integers(0, 3))):
        name = f"enterprises/{CODE}/instruments/{n}"
        events.append(instrument(name, _day(draw(st.integers(0, 50)))))
        for _ in range(draw(st.integers(0, 3))):
            events.append(verification(name, _day(draw(st.integers(60, 1500))), draw(st.booleans())))
    ordered = draw(st.permutations(events)) if draw(st.booleans()) else sorted(events, key=occurred_at)
    return [(event, draw(st.sampled_from([0, 0, 0, 1, 400]))) for event in ordered]


@settings(max_examples=150, deadline=None)
@given(arrivals())
def test_a_kept_fold_grades_exactly_as_the_replay(stream: list[tuple[Event, int]]) -> None:
    entries: list[HistoryEntry] = []
    folds: dict[str, FoldedHistory] = {}
    current: Grade | None = None
    for event, moved in stream:
        at = occurred_at(event)
        bisect.insort(
            entries, HistoryEntry(event.id, at, event, None), key=lambda e: (e.occurred_at, e.event_id)
        )
        replayed = regrade_after(POLICY, list(entries), current, at)
        kept = regrade_after(POLICY, list(entries), current, at, folds)
        assert kept == replayed
        grade, levels = replayed
        entries = [e._replace(level_after=levels[e.event_id]) if e.event_id in levels else e for e in entries]
        current = grade
        if moved and current is not None:  # a recompute moved the grade forward meanwhile
            current = replace(current, as_of=current.as_of + timedelta(days=moved))
    assert len(folds) <= 1
