"""The batch ingest use case on the in-memory unit of work (its SQL twin, with the consumer and random
batches: tests/integration/test_ingest_batch.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scoring.adapters.policy_file import load_policy
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.ingest_batch import ingest_batch
from shared.events import BatchEventFailed, Event, InvalidEvent
from tests.unit.scoring.fakes import FakeScoringUnitOfWork, Outcome, inspection, registration, uscc

POLICY = load_policy()
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def story() -> list[Event]:
    """Two enterprises: a registration and inspections each, one inspection late, one arriving before
    its enterprise's registration, and a repeat."""
    a, b = uscc(1), uscc(2)
    early_b = inspection(b, T0 + timedelta(days=3), Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION)
    late_a = inspection(a, T0 + timedelta(days=5), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)
    events = [
        registration(a, occurred_at=T0),
        inspection(a, T0 + timedelta(days=30), Outcome.INSPECTION_OUTCOME_COMPLIANT),
        early_b,
        inspection(a, T0 + timedelta(days=60), Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION),
        registration(b, occurred_at=T0 + timedelta(days=1)),
        late_a,
        late_a,
    ]
    return events


def state(uow: FakeScoringUnitOfWork) -> tuple[object, ...]:
    published = []
    for topic, event in uow.published:
        copy = Event()
        copy.CopyFrom(event)
        copy.ClearField("recorded_at")  # the clock's, at staging
        published.append((topic, copy))
    return (uow.enterprises_rows, uow.history_rows, uow.grade_rows, uow.grade_history, published)


def test_a_batch_leaves_the_state_one_event_at_a_time_leaves() -> None:
    events = story()
    one_by_one, batched = FakeScoringUnitOfWork(), FakeScoringUnitOfWork()
    with one_by_one:
        for event in events:
            ingest(one_by_one, POLICY, event)
        one_by_one.commit()
    with batched:
        ingest_batch(batched, POLICY, events)
        batched.commit()
    assert state(batched) == state(one_by_one)
    assert len(batched.grade_rows) == 2 and len(batched.history_rows) == 6


def test_an_event_that_cannot_be_ingested_is_named_by_its_position_and_nothing_is_written() -> None:
    events = story()
    events.insert(3, registration(uscc(3), region="999999", occurred_at=T0))
    uow = FakeScoringUnitOfWork()
    with uow:
        with pytest.raises(BatchEventFailed) as failed:
            ingest_batch(uow, POLICY, events)
        assert failed.value.position == 3
        assert isinstance(failed.value.cause, InvalidEvent)
        assert "999999" in str(failed.value.cause)
        assert state(uow) == ({}, {}, {}, [], [])
