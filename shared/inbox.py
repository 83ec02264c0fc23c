"""Processed-event ids, stored in the same transaction as the state an event changed (idempotency)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, Session, SQLModel

from shared.events import utcnow


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=255)
    processed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def already_processed(session: Session, event_id: str) -> bool:
    return session.get(ProcessedEvent, event_id) is not None


def mark_processed(session: Session, event_id: str, topic: str) -> None:
    session.add(ProcessedEvent(event_id=event_id, topic=topic, processed_at=utcnow()))
