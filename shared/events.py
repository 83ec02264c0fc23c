"""The event envelope: build, encode to a Kafka record, decode and validate.

Every event is an `integrity.events.v1.Event` whose `payload` oneof holds the typed message. The record
key is the subject's USCC; CloudEvents binary-mode headers mirror the envelope for generic tools.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

from integrity.events.v1 import events_pb2
from shared.bounds import timestamp_problem
from shared.uscc import is_valid_uscc

_PAYLOAD = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"]
# Payload message full name -> oneof field name, e.g. "integrity.events.v1.EnterpriseRegistered".
_FIELD_BY_TYPE = {f.message_type.full_name: f.name for f in _PAYLOAD.fields}

Event = events_pb2.Event


class InvalidEvent(ValueError):
    """A record that is not a valid integrity event; it belongs in the dead-letter topic."""


class BatchEventFailed(Exception):
    """A batch handler's failure pinned to one event: `position` in the list it was given, `cause` what
    that event raised. The consumer judges the cause like a per-event handler's error (poison or
    transient) and applies the rest of the batch without it."""

    def __init__(self, position: int, cause: Exception) -> None:
        super().__init__(f"event {position} of the batch failed: {cause}")
        self.position = position
        self.cause = cause


@dataclass(frozen=True)
class Record:
    """What goes on the wire: topic, key, value and headers."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event(source: str, subject: str, payload: Message, occurred_at: datetime | None = None) -> Event:
    """An envelope around `payload` about enterprise `subject` (a USCC), with a fresh id."""
    type_name = payload.DESCRIPTOR.full_name
    field_name = _FIELD_BY_TYPE.get(type_name)
    if field_name is None:
        raise TypeError(f"{type_name} is not a payload of integrity.events.v1.Event")
    now = utcnow()
    event = Event(id=str(uuid.uuid4()), type=type_name, source=source, subject=subject)
    event.occurred_at.FromDatetime(occurred_at or now)
    event.recorded_at.FromDatetime(now)
    getattr(event, field_name).CopyFrom(payload)
    return event


def payload_of(event: Event) -> Message:
    """The typed payload message of an envelope."""
    field_name = event.WhichOneof("payload")
    if field_name is None:
        raise InvalidEvent("event has no payload")
    return getattr(event, field_name)  # type: ignore[no-any-return]


def cloudevents_headers(event: Event) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event.id.encode()),
        ("ce_type", event.type.encode()),
        ("ce_source", event.source.encode()),
        ("ce_subject", event.subject.encode()),
        ("ce_time", event.occurred_at.ToJsonString().encode()),
        ("content-type", b"application/protobuf"),
    ]


def to_record(topic: str, event: Event) -> Record:
    return Record(topic, event.subject.encode(), event.SerializeToString(), cloudevents_headers(event))


def decode(value: bytes | None) -> Event:
    """Parses and validates a record value; raises InvalidEvent saying what is wrong."""
    if not value:
        raise InvalidEvent("empty record value")
    event = Event()
    try:
        event.ParseFromString(value)
    except DecodeError as exc:
        raise InvalidEvent(f"not an integrity.events.v1.Event: {exc}") from exc
    validate(event)
    return event


def validate(event: Event) -> None:
    problems = []
    if not event.id:
        problems.append("id is empty")
    if not is_valid_uscc(event.subject):
        problems.append(f"subject {event.subject!r} is not a valid USCC")
    field_name = event.WhichOneof("payload")
    if field_name is None:
        problems.append("payload is not set (unknown event type?)")
    elif _FIELD_BY_TYPE.get(event.type) != field_name:
        problems.append(f"type {event.type!r} does not match payload {field_name!r}")
    if not event.HasField("occurred_at"):
        problems.append("occurred_at is not set")
    elif why := timestamp_problem(event.occurred_at.seconds, event.occurred_at.nanos):
        problems.append(f"occurred_at {why}")
    if problems:
        raise InvalidEvent("; ".join(problems))
