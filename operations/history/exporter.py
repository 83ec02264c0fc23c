"""Export of the sources of truth: every event of the enterprises, complaints and inspections outboxes, and
scoring's decisions on grades (appeals, overrides and their reviews, credit repairs and applications,
serious-dishonesty listings) with who, when and why; never its grades, which are recomputed.

Written in the import format, ordered by (occurred_at, event id) across the services, so an export
imported into an empty stack rebuilds the same registry, the same decisions and, through scoring, the same
grades, overrides included.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import Engine, inspect, select
from sqlmodel import Session, col

from integrity.events.v1 import events_pb2
from operations import catalogue
from shared.cloudevents import to_json_line
from shared.db import make_engine, missing_sqlite_file
from shared.events import Event
from shared.outbox import OutboxRecord
from shared.settings import Settings

_FETCH = 2000
_PAYLOAD = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"]
# Oneof field name -> payload type name, e.g. "grade_overridden" -> "integrity.events.v1.GradeOverridden".
_TYPE_OF = {field.name: field.message_type.full_name for field in _PAYLOAD.fields}


def export_history(settings: Settings, out: TextIO, *, since: datetime | None = None) -> int:
    """Writes the events that occurred at or after `since` (all when None); returns how many."""
    count = 0
    for event in source_events(settings):
        if since is not None and event.occurred_at.ToDatetime(tzinfo=UTC) < since:
            continue
        out.write(to_json_line(event) + "\n")
        count += 1
    return count


def source_events(settings: Settings) -> Iterator[Event]:
    """Every event the publishing services own in an import (the source services' events and scoring's
    decisions on grades, never its GradeChanged), in (occurred_at, id) order."""
    # A service database that was never made holds no events (and reading it must not make it).
    services = [s for s in catalogue.publishers() if not missing_sqlite_file(settings.database_url(s.name))]
    engines = [make_engine(settings.database_url(service.name)) for service in services]
    try:
        owned = [[_TYPE_OF[kind] for kind in service.history.owns] for service in services]
        streams = [_outbox_events(engine, types) for engine, types in zip(engines, owned, strict=True)]
        for _key, event in heapq.merge(*streams, key=lambda pair: pair[0]):
            yield event
    finally:
        for engine in engines:
            engine.dispose()


def _outbox_events(engine: Engine, types: Collection[str]) -> Iterator[tuple[tuple[datetime, str], Event]]:
    """One outbox's events of the given types in (occurred_at, event id) order, read in chunks."""
    if not inspect(engine).has_table(OutboxRecord.__tablename__):
        return
    statement = (
        select(OutboxRecord.value)
        .where(col(OutboxRecord.event_type).in_(list(types)))
        .order_by(col(OutboxRecord.occurred_at), col(OutboxRecord.event_id))
    )
    with Session(engine) as session:
        for value in session.execute(statement.execution_options(yield_per=_FETCH)).scalars():
            event = Event.FromString(value)
            # The same key the database sorted by: occurred_at to the microsecond, then the id.
            yield (event.occurred_at.ToDatetime(), event.id), event
