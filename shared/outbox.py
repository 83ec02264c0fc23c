"""Transactional outbox: events are written in the same transaction as the state they describe.

`shared.relay` publishes the rows to Kafka and marks them published only after the broker's ack.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, update
from sqlmodel import Field, Session, SQLModel, col, select

from shared.db import Prepared, companion_tables
from shared.errors import FieldViolation, invalid_argument
from shared.events import Event, to_record, utcnow
from shared.tracing import current_traceparent


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=64)
    topic: str = Field(max_length=255)
    key: str = Field(max_length=64)
    event_type: str = Field(max_length=255)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    # Set when the broker refused the row for good (e.g. too large): the relay passes over it, and
    # `integrity outbox parked` lists it. Later rows still flow.
    parked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # The W3C traceparent of the span that staged the event (None outside a trace): the relay's publish span
    # continues that trace, so one trace runs from the RPC through the broker to the consumers.
    trace_context: str | None = Field(default=None, max_length=128)


class OutboxWatermark(SQLModel, table=True):
    """The highest offset the broker acknowledged per partition, so the relay notices a broker that lost
    its log (a memory broker restarted, a topic re-created) and publishes everything again."""

    __tablename__ = "outbox_watermarks"

    topic: str = Field(primary_key=True, max_length=255)
    partition: int = Field(primary_key=True)
    acked_offset: int
    cluster_id: str = Field(default="", max_length=255)  # of the broker that acknowledged it


companion_tables(OutboxRecord.__tablename__, OutboxWatermark)

# Kafka's default message.max.bytes is about 1 MiB; the record's headers and framing need some of it.
MAX_EVENT_BYTES = 900_000


def check_size(event: Event, value: bytes) -> None:
    """INVALID_ARGUMENT when the event could never be published: refused when staged, not wedged later."""
    if len(value) > MAX_EVENT_BYTES:
        raise invalid_argument(
            [
                FieldViolation(
                    "request",
                    f"the {event.type.rsplit('.', 1)[-1]} event this request makes would be "
                    f"{len(value):,} bytes, more than the {MAX_EVENT_BYTES:,} an event may have; "
                    "shorten its free text",
                )
            ]
        )


def add_event(session: Session, topic: str, event: Event) -> OutboxRecord:
    """Stages `event` for `topic` in the caller's transaction; it is published after commit."""
    record = to_record(topic, event)
    check_size(event, record.value)
    row = OutboxRecord(
        event_id=event.id,
        topic=topic,
        key=record.key.decode(),
        event_type=event.type,
        value=record.value,
        occurred_at=event.occurred_at.ToDatetime(),
        recorded_at=utcnow(),
        trace_context=current_traceparent(),
    )
    session.add(row)
    return row


def add_events(
    session: Session, topic: str, events: Sequence[Event], trace_contexts: Sequence[str | None] | None = None
) -> None:
    """`add_event` for many events: one executemany and no ORM objects (a recompute stages thousands).
    Each row stores the current span's trace context, or its own of `trace_contexts` when given (events
    staged under several spans and written together)."""
    if not events:
        return
    recorded_at, traceparent = utcnow(), current_traceparent()
    rows = []
    for position, event in enumerate(events):
        record = to_record(topic, event)
        check_size(event, record.value)
        rows.append(
            (
                event.id,
                topic,
                record.key.decode(),
                event.type,
                record.value,
                event.occurred_at.ToDatetime(),
                recorded_at,
                None,
                0,
                None,
                None,
                traceparent if trace_contexts is None else trace_contexts[position],
            )
        )
    _ADD_ROWS.run(session, rows)


_ADD_ROWS = Prepared(
    OutboxRecord.__table__.insert(),  # type: ignore[attr-defined]
    (
        "event_id",
        "topic",
        "key",
        "event_type",
        "value",
        "occurred_at",
        "recorded_at",
        "published_at",
        "attempts",
        "last_error",
        "parked_at",
        "trace_context",
    ),
)


_ID_QUERY_CHUNK = 500  # bound parameters per IN (...) query


def present_event_ids(session: Session, event_ids: Collection[str]) -> set[str]:
    """Those of `event_ids` already in the outbox (imported before, or produced by the service itself)."""
    ids = list(event_ids)
    present: set[str] = set()
    for start in range(0, len(ids), _ID_QUERY_CHUNK):
        chunk = ids[start : start + _ID_QUERY_CHUNK]
        statement = select(OutboxRecord.event_id).where(col(OutboxRecord.event_id).in_(chunk))
        present.update(session.exec(statement))
    return present


def parked(session: Session) -> list[OutboxRecord]:
    """The rows the broker refused for good, oldest first (`integrity outbox parked`)."""
    statement = (
        select(OutboxRecord).where(col(OutboxRecord.parked_at).is_not(None)).order_by(col(OutboxRecord.id))
    )
    return list(session.exec(statement))


def unpark(session: Session, row_ids: Collection[int] | None) -> int:
    """Puts parked rows (all of them for None) back in the relay's queue, after what refused them was fixed
    (e.g. the broker's message.max.bytes raised). Returns how many; unknown or unparked ids count nothing."""
    statement = update(OutboxRecord).where(col(OutboxRecord.parked_at).is_not(None))
    if row_ids is not None:
        statement = statement.where(col(OutboxRecord.id).in_(list(row_ids)))
    result = session.exec(statement.values(parked_at=None, published_at=None))  # type: ignore[call-overload]
    return int(result.rowcount)
