"""Batch ingest = per-event ingest: the scoring consumer's batch hand-off leaves every scoring table as the
per-event handler does, whatever the batches, their order, duplicates and poison; a transient database
error loses nothing and applies nothing twice.

Both paths run through the real consumer's batch logic (`EventConsumer._process`, no broker: the records
are built here and dead letters are recorded instead of sent) on real databases, with the clock frozen
so the recorded times compare too.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
import sqlalchemy.exc
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from integrity.events.v1 import events_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.events import Event, new_event, to_record
from tests.unit.scoring.fakes import (
    ENTERPRISES_SOURCE,
    OUTCOMES,
    complaint_filed,
    complaint_resolved,
    inspection,
    registration,
    uscc,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
TOPIC = "integrity.test.sources"
POLICY = load_policy()
# Every scoring table, with the order its rows compare in and the columns left out (generated ids).
TABLE_ORDER = {
    "scoring_events": ("event_id", ()),
    "scoring_enterprise_projection": ("uscc", ()),
    "scoring_grades": ("uscc", ()),
    "scoring_grade_history": ("id", ("id",)),
    "processed_events": ("event_id", ()),
    "outbox": ("id", ("id",)),
}


# --- events -------------------------------------------------------------------------------------------


def _day(offset: int) -> datetime:
    return T0 + timedelta(days=offset)


@st.composite
def enterprise_stories(draw: st.DrawFn, serial: int) -> list[Event]:
    """One enterprise's events: maybe a registration (and a later update), inspections and complaints at
    a few shared days (so times tie), sometimes before the registration."""
    code = uscc(serial)
    events: list[Event] = []
    if draw(st.booleans()) or serial == 0:
        events.append(registration(code, occurred_at=_day(draw(st.integers(0, 3)))))
        if draw(st.booleans()):
            moved = registration(
                code, region="610113", name=f"更名企业{serial}"
            ).enterprise_registered.enterprise
            payload = events_pb2.EnterpriseUpdated(enterprise=moved, changed_fields=["display_name"])
            events.append(new_event(ENTERPRISES_SOURCE, code, payload, _day(draw(st.integers(0, 40)))))
    for _ in range(draw(st.integers(0, 4))):
        at = _day(draw(st.sampled_from([0, 2, 10, 30, 31, 90])))
        events.append(
            inspection(code, at, draw(st.sampled_from(OUTCOMES)), name=f"inspections/{uuid.uuid4()}")
        )
    if draw(st.booleans()):
        name = f"complaints/{serial}"
        filed = _day(draw(st.integers(1, 60)))
        events.append(complaint_filed(code, filed, name))
        events.append(complaint_resolved(code, filed + timedelta(days=5), name, draw(st.booleans())))
    return events


def poison(serial: int) -> Event:
    """A registration whose region does not exist: ingest refuses it (InvalidEvent)."""
    return registration(uscc(serial), region="999999", occurred_at=_day(1))


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Event], list[int]]:
    """Events of a few enterprises in a random order, with repeats and maybe poison, and batch sizes."""
    events = [
        event for serial in range(draw(st.integers(1, 4))) for event in draw(enterprise_stories(serial))
    ]
    if draw(st.booleans()):
        events.append(poison(draw(st.integers(0, 4))))
    for k, event in enumerate(events):
        event.id = str(uuid.UUID(int=k + 1))  # deterministic ids: ties on time break by id
    events = draw(st.permutations(events))
    repeats = draw(st.lists(st.integers(0, len(events) - 1), max_size=4)) if events else []
    events = events + [events[k] for k in repeats]
    sizes = draw(st.lists(st.integers(1, 8), min_size=1, max_size=10))
    return events, sizes


def _records(events: list[Event]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(topic=TOPIC, partition=0, offset=k, key=event.subject.encode(), headers=[],
                        value=to_record(TOPIC, event).value)
        for k, event in enumerate(events)
    ]  # fmt: skip


def _batches(records: list[Any], sizes: list[int]) -> Iterator[list[Any]]:
    start, k = 0, 0
    while start < len(records):
        size = sizes[k % len(sizes)]
        yield records[start : start + size]
        start, k = start + size, k + 1


# --- the two paths --------------------------------------------------------------------------------------


def consumer(engine: Engine, *, batch: bool) -> EventConsumer:
    handler = ScoringEventHandler(POLICY)
    running = EventConsumer(
        engine, "127.0.0.1:9", "identity", [TOPIC], handler,
        unit_of_work=partial(ScoringUnitOfWork, engine),
        batch_handler=handler.handle_batch if batch else None,
        max_backoff_seconds=0.0,
    )  # fmt: skip
    running.dead_lettered = []  # type: ignore[attr-defined]

    def dead_letter(record: Any, error: str, reason: str = "rejected") -> bool:
        running.dead_lettered.append((record.offset, error))  # type: ignore[attr-defined]
        return True

    running._dead_letter = dead_letter  # type: ignore[method-assign]
    return running


def run(engine: Engine, records: list[Any], sizes: list[int], *, batch: bool) -> list[tuple[int, str]]:
    """Consumes `records` in batches of `sizes` (cycled); returns the dead-lettered (offset, reason)."""
    running = consumer(engine, batch=batch)
    for records_of_batch in _batches(records, sizes):
        assert running._process(records_of_batch) == len(records_of_batch)
    return running.dead_lettered  # type: ignore[attr-defined]


def tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    with engine.connect() as connection:
        for table, (order, left_out) in TABLE_ORDER.items():
            rows = connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
            found[table] = [tuple(v for k, v in row.items() if k not in left_out) for row in rows]
    return found


@contextmanager
def frozen_clock() -> Iterator[None]:
    """Every time ingest, its events, the outbox and the inbox record is NOW."""
    with (
        mock.patch("services.scoring.use_cases.ingest.utcnow", lambda: NOW),
        mock.patch("shared.outbox.utcnow", lambda: NOW),
        mock.patch("shared.inbox.utcnow", lambda: NOW),
        mock.patch("shared.events.utcnow", lambda: NOW),  # GradeChanged's recorded_at
    ):
        yield


def fresh(url: str) -> Engine:
    engine = make_engine(url)
    create_tables(engine, TABLES)
    return engine


# --- the identity --------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(streams())
def test_batch_ingest_leaves_every_table_as_per_event_ingest(stream: tuple[list[Event], list[int]]) -> None:
    events, sizes = stream
    records = _records(events)
    with tempfile.TemporaryDirectory() as directory, frozen_clock():
        reference, batched = fresh(f"sqlite:///{directory}/a.db"), fresh(f"sqlite:///{directory}/b.db")
        try:
            assert run(batched, records, sizes, batch=True) == run(reference, records, [1], batch=False)
            assert tables(batched) == tables(reference)
        finally:
            reference.dispose()
            batched.dispose()


def test_identity_on_both_databases(service_database_urls: dict[str, str]) -> None:
    """A larger fixed stream (40 enterprises, late events, repeats, two poison records) on SQLite and
    PostgreSQL: one poll-sized batch at a time against one event at a time."""
    events = []
    for serial in range(40):
        code = uscc(serial)
        events.append(registration(code, occurred_at=_day(serial % 3)))
        for n in range(3):
            events.append(inspection(code, _day(30 * n + serial % 5), OUTCOMES[(serial + n) % 4]))
    events.insert(17, poison(3))
    events.insert(60, poison(41))
    events.extend(events[k] for k in (5, 6, 80))  # repeats
    late = [inspection(uscc(serial), _day(1), OUTCOMES[3]) for serial in range(0, 40, 7)]
    events.extend(late)  # before the newest events of their enterprises: they replay from their time
    records = _records(events)
    reference = fresh(service_database_urls["enterprises"])
    batched = fresh(service_database_urls["scoring"])
    try:
        with frozen_clock():
            dead_reference = run(reference, records, [1], batch=False)
            dead_batched = run(batched, records, [200], batch=True)
        assert [offset for offset, _ in dead_batched] == [17, 60] == [offset for offset, _ in dead_reference]
        assert dead_batched == dead_reference  # the same reasons
        assert tables(batched) == tables(reference)
        assert len(tables(batched)["scoring_grades"]) == 40
    finally:
        reference.dispose()
        batched.dispose()


# --- failures inside a batch --------------------------------------------------------------------------------


def _stream() -> list[Any]:
    events = []
    for serial in range(6):
        events.append(registration(uscc(serial), occurred_at=_day(0)))
        events.append(inspection(uscc(serial), _day(10 + serial), OUTCOMES[serial % 4]))
    return _records(events)


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    reference, batched = fresh(f"sqlite:///{tmp_path}/a.db"), fresh(f"sqlite:///{tmp_path}/b.db")
    yield reference, batched
    reference.dispose()
    batched.dispose()


def test_poison_inside_a_batch_is_dead_lettered_alone(engines: tuple[Engine, Engine]) -> None:
    reference, batched = engines
    records = _stream()
    bad = _records([poison(9)])[0]
    bad.offset = 5
    records = [
        *records[:5],
        bad,
        *[SimpleNamespace(**{**vars(r), "offset": r.offset + 1}) for r in records[5:]],
    ]
    with frozen_clock():
        running = consumer(batched, batch=True)
        assert running._process(records) == len(records)
        run(reference, [r for r in records if r is not bad], [1], batch=False)
    assert [offset for offset, _ in running.dead_lettered] == [5]  # type: ignore[attr-defined]
    assert "region_code '999999'" in running.dead_lettered[0][1]  # type: ignore[attr-defined]
    assert tables(batched) == tables(reference)  # the other eleven applied, as one by one
    assert len(tables(batched)["processed_events"]) == 12


def _operational_error() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("UPDATE scoring_grades ...", {}, Exception("database is locked"))


def test_a_transient_error_in_the_batch_write_loses_nothing_and_applies_nothing_twice(
    engines: tuple[Engine, Engine],
) -> None:
    """The batch's first attempt fails in the middle of its writes (after the history was written): it is
    rolled back whole and the batch applied again (through the per-event handler), exactly once."""
    reference, batched = engines
    records = _stream()
    calls = {"n": 0}
    real = ScoringUnitOfWork.__enter__

    def failing_once(self: ScoringUnitOfWork) -> ScoringUnitOfWork:
        uow = real(self)
        save_batch = uow.grades.save_batch

        def flaky(*args: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise _operational_error()
            save_batch(*args)

        uow.grades.save_batch = flaky  # type: ignore[method-assign]
        return uow

    with frozen_clock():
        with mock.patch.object(ScoringUnitOfWork, "__enter__", failing_once):
            running = consumer(batched, batch=True)
            assert running._process(records) == len(records)
        run(reference, records, [1], batch=False)
    assert calls["n"] >= 1
    assert tables(batched) == tables(reference)


def test_a_failed_commit_retries_the_whole_batch(engines: tuple[Engine, Engine]) -> None:
    """The database goes away at commit: nothing of the batch is kept and no offset moves (0 done); the
    redelivered batch then applies once."""
    reference, batched = engines
    records = _stream()
    real_commit = ScoringUnitOfWork.commit
    with frozen_clock():
        running = consumer(batched, batch=True)
        with mock.patch.object(ScoringUnitOfWork, "commit", side_effect=_operational_error()):
            assert running._process(records) == 0
        assert all(rows == [] for rows in tables(batched).values())
        with mock.patch.object(ScoringUnitOfWork, "commit", real_commit):
            assert running._process(records) == len(records)
            assert running._process(records) == len(records)  # a redelivery changes nothing
        run(reference, records, [1], batch=False)
    assert tables(batched) == tables(reference)
    assert running.dead_lettered == []  # type: ignore[attr-defined]
