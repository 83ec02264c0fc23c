"""The history file format: one event per CloudEvents JSON line, exactly round-tripped, or a clear error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from integrity.events.v1 import events_pb2
from shared.cloudevents import from_json_line, to_json_line
from shared.events import Event, new_event
from tests.helpers import enterprise_registered, valid_uscc

PAYLOADS = list(events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields)
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}
# Seconds of 0001-01-01 .. 9999-12-31, the range RFC 3339 (and protobuf JSON) can spell.
_TIMESTAMP_SECONDS = (-62135596800, 253402300799)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=20)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return st.floats(allow_nan=False, allow_infinity=False)
    if field.type == FieldDescriptor.TYPE_FLOAT:
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([value.number for value in field.enum_type.values])
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        return st.integers(low, high)
    raise AssertionError(f"no strategy for {field.full_name}")


def _field(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        single: st.SearchStrategy[Any] = messages(field.message_type)
    else:
        single = _scalar(field)
    if field.is_repeated:
        return st.lists(single, max_size=3)
    return single


def messages(descriptor: Descriptor) -> st.SearchStrategy[dict[str, Any]]:
    """Field values for any message type, built from its descriptor (so every payload type is covered)."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.fixed_dictionaries(
            {"seconds": st.integers(*_TIMESTAMP_SECONDS), "nanos": st.integers(0, 999_999_999)}
        )
    fields = {field.name: _field(field) for field in descriptor.fields}
    return st.fixed_dictionaries({}, optional=fields)  # type: ignore[arg-type]


def _fill(message: Message, values: dict[str, Any]) -> Message:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                for item in value:
                    _fill(getattr(message, name).add(), item)
            else:
                _fill(getattr(message, name), value)
                getattr(message, name).SetInParent()
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


@st.composite
def events(draw: st.DrawFn) -> Event:
    field = draw(st.sampled_from(PAYLOADS))
    payload = _fill(getattr(events_pb2, field.message_type.name)(), draw(messages(field.message_type)))
    event = Event(
        id=draw(st.uuids()).hex,
        type=field.message_type.full_name,
        source=draw(st.sampled_from(["//integrity/enterprises", "//integrity/complaints", "legacy-系统"])),
        subject=valid_uscc(draw(st.integers(0, 9_999_999))),
    )
    _fill(event.occurred_at, draw(messages(event.occurred_at.DESCRIPTOR)))
    if draw(st.booleans()):
        _fill(event.recorded_at, draw(messages(event.recorded_at.DESCRIPTOR)))
    getattr(event, field.name).CopyFrom(payload)
    return event


@given(events())
def test_every_payload_type_round_trips_exactly(event: Event) -> None:
    line = to_json_line(event)
    assert "\n" not in line
    decoded = from_json_line(line)
    assert decoded == event
    assert decoded.HasField("recorded_at") == event.HasField("recorded_at")
    assert to_json_line(decoded) == line


def test_a_line_is_cloudevents_structured_json() -> None:
    event = enterprise_registered(valid_uscc(7))
    document = json.loads(to_json_line(event))
    assert document["specversion"] == "1.0"
    assert document["id"] == event.id
    assert document["type"] == "integrity.events.v1.EnterpriseRegistered"
    assert document["subject"] == event.subject
    assert document["time"] == event.occurred_at.ToJsonString()
    assert document["recordedtime"] == event.recorded_at.ToJsonString()
    assert document["datacontenttype"] == "application/json"
    assert document["data"]["enterprise"]["regionCode"] == "610100"  # protobuf JSON names


def _line(**changes: Any) -> str:
    document = json.loads(to_json_line(enterprise_registered(valid_uscc(8))))
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return json.dumps(document, ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (_line(id=None), "missing CloudEvents attribute(s): id"),
        (_line(type=None), "missing CloudEvents attribute(s): type"),
        (_line(subject=None, time=None), "missing CloudEvents attribute(s): subject, time"),
        (_line(specversion="0.3"), 'specversion must be "1.0"'),
        (
            _line(type="integrity.events.v1.EnterpriseDeleted"),
            "unknown type 'integrity.events.v1.EnterpriseDeleted'",
        ),
        (_line(type="integrity.events.v1.ComplaintFiled"), "data does not match ComplaintFiled"),
        (_line(data={"enterprise": {"regionKode": "610100"}}), 'has no field named "regionKode"'),
        (_line(data={"enterprise": {"sizeClass": "SIZE_CLASS_ENORMOUS"}}), "data does not match"),
        (_line(data="EnterpriseRegistered"), "data must be a JSON object"),
        (_line(time="2024-13-01T00:00:00Z"), "time '2024-13-01T00:00:00Z' is not an RFC 3339 time"),
        (_line(time="2024-03-01 08:00"), "is not an RFC 3339 time"),
        (_line(recordedtime="yesterday"), "recordedtime 'yesterday' is not an RFC 3339 time"),
        (_line(datacontenttype="application/protobuf"), 'datacontenttype must be "application/json"'),
    ],
)
def test_a_bad_line_says_what_is_wrong(line: str, expected: str) -> None:
    with pytest.raises(ValueError) as error:
        from_json_line(line)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)  # reported as FILE:LINE: message, one line each


def test_an_offset_time_means_the_same_instant() -> None:
    event = new_event(
        "//integrity/complaints", valid_uscc(9), events_pb2.ComplaintAccepted(complaint="complaints/x")
    )
    document = json.loads(to_json_line(event))
    document["time"] = "2024-03-01T08:30:00+08:00"
    assert from_json_line(json.dumps(document)).occurred_at.ToJsonString() == "2024-03-01T00:30:00Z"
