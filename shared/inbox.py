"""Processed-event ids, stored in the same transaction as the state an event changed (idempotency)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, Session, SQLModel, select

from shared.db import Prepared
from shared.events import utcnow


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=255)
    processed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


_INSERT = ProcessedEvent.__table__.insert()  # type: ignore[attr-defined]
_MARK_ALL = Prepared(_INSERT, ("event_id", "topic", "processed_at"))


def already_processed(session: Session, event_id: str) -> bool:
    return session.get(ProcessedEvent, event_id) is not None


def mark_processed(session: Session, event_id: str, topic: str) -> None:
    """Records the id with a plain INSERT (no ORM object: this runs once per consumed event). A duplicate
    id raises sqlalchemy's IntegrityError right here, naming the event that was processed elsewhere."""
    session.execute(_INSERT, {"event_id": event_id, "topic": topic, "processed_at": utcnow()})


def mark_all_processed(session: Session, processed: Sequence[tuple[str, str]]) -> None:
    """`mark_processed` for a whole batch of (event id, topic) in one executemany (a batch handler's
    path). A duplicate id fails the statement without naming the event."""
    if processed:
        now = utcnow()
        _MARK_ALL.run(session, [(event_id, topic, now) for event_id, topic in processed])


def processed_among(session: Session, event_ids: Collection[str]) -> set[str]:
    """The ids in `event_ids` already processed: one query for a whole batch."""
    if not event_ids:
        return set()
    statement = select(ProcessedEvent.event_id).where(ProcessedEvent.event_id.in_(event_ids))  # type: ignore[attr-defined]
    return set(session.exec(statement))
