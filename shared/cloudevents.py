"""One integrity event as one CloudEvents JSON object (structured mode), and back.

`data` is the payload message in protobuf JSON; `time` is when it happened (occurred_at) and the
`recordedtime` extension when a system recorded it. Decoding is strict, so a migrated file either means
exactly what it says or is refused with a message a person can act on.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from integrity.events.v1 import events_pb2
from shared.events import Event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_PAYLOAD = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"]
# "integrity.events.v1.InspectionCompleted" -> its oneof field.
_FIELDS = {field.message_type.full_name: field for field in _PAYLOAD.fields}
_REQUIRED = ("id", "source", "type", "subject", "time")


def known_types() -> list[str]:
    return sorted(_FIELDS)


def to_json_line(event: Event) -> str:
    """The event as one compact JSON object (no newline)."""
    field_name = event.WhichOneof("payload")
    if field_name is None:
        raise ValueError(f"event {event.id!r} has no payload")
    document: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.occurred_at.ToJsonString(),
        "datacontenttype": CONTENT_TYPE,
    }
    if event.HasField("recorded_at"):
        document["recordedtime"] = event.recorded_at.ToJsonString()
    document["data"] = json_format.MessageToDict(getattr(event, field_name))
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def from_json_line(line: str) -> Event:
    """The event a line describes; ValueError saying what is wrong and how it should look."""
    try:
        document = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object (one CloudEvent), got {type(document).__name__}")
    missing = [name for name in _REQUIRED if not _text(document, name)]
    if missing:
        raise ValueError(f"missing CloudEvents attribute(s): {', '.join(missing)}")
    version = document.get("specversion")
    if version != SPEC_VERSION:
        raise ValueError(f'specversion must be "{SPEC_VERSION}", got {version!r}')
    content_type = document.get("datacontenttype", CONTENT_TYPE)
    if content_type != CONTENT_TYPE:
        raise ValueError(f'datacontenttype must be "{CONTENT_TYPE}" (protobuf JSON), got {content_type!r}')
    type_name = document["type"]
    field = _FIELDS.get(type_name)
    if field is None:
        raise ValueError(
            f"unknown type {type_name!r}; expected one of integrity.events.v1."
            f"{{{', '.join(name.rsplit('.', 1)[1] for name in known_types())}}}"
        )
    event = Event(id=document["id"], type=type_name, source=document["source"], subject=document["subject"])
    _timestamp(event.occurred_at, document["time"], "time")
    if "recordedtime" in document:
        _timestamp(event.recorded_at, document["recordedtime"], "recordedtime")
    getattr(event, field.name).CopyFrom(_payload(field.message_type.full_name, document.get("data")))
    return event


def _text(document: dict[str, Any], name: str) -> bool:
    value = document.get(name)
    return isinstance(value, str) and bool(value)


def _timestamp(target: Timestamp, value: object, attribute: str) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError
        target.FromJsonString(value)
    except ValueError:
        raise ValueError(
            f"{attribute} {value!r} is not an RFC 3339 time with a zone, e.g. 2024-03-01T08:30:00+08:00"
        ) from None


def _payload(type_name: str, data: object) -> Message:
    short = type_name.rsplit(".", 1)[1]
    if not isinstance(data, dict):
        raise ValueError(f"data must be a JSON object (the {short} message in protobuf JSON)")
    message: Message = getattr(events_pb2, short)()  # every payload type lives in events_pb2
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        detail = " ".join(str(exc).split())  # one line: errors are reported as FILE:LINE: message
        raise ValueError(f"data does not match {short}: {detail}") from None
    return message
