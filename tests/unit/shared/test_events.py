"""The event envelope: what producers put on the wire is what consumers get back, and bad input is named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from shared.events import InvalidEvent, decode, new_event, payload_of, to_record
from shared.topics import dead_letter
from tests.helpers import enterprise_registered, valid_uscc

ENTERPRISES = "integrity.enterprises.v1"  # any topic name: the platform derives, never names them

USCC = valid_uscc(1)


def test_envelope_round_trips_through_a_record() -> None:
    occurred = datetime(2019, 3, 1, 8, 30, tzinfo=UTC)
    event = enterprise_registered(USCC, occurred_at=occurred)

    record = to_record(ENTERPRISES, event)
    decoded = decode(record.value)

    assert decoded == event
    assert record.topic == ENTERPRISES
    assert record.key == USCC.encode()  # one enterprise's events share a partition
    assert decoded.type == "integrity.events.v1.EnterpriseRegistered"
    assert decoded.occurred_at.ToDatetime(UTC) == occurred  # history keeps its real time
    assert decoded.recorded_at.ToDatetime(UTC) > occurred
    assert payload_of(decoded).enterprise.uscc == USCC


def test_new_events_get_distinct_ids() -> None:
    assert enterprise_registered(USCC).id != enterprise_registered(USCC).id


def test_record_carries_cloudevents_binary_headers() -> None:
    event = enterprise_registered(USCC, occurred_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))

    headers = dict(to_record(ENTERPRISES, event).headers)

    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == event.id.encode()
    assert headers["ce_type"] == b"integrity.events.v1.EnterpriseRegistered"
    assert headers["ce_source"] == b"//integrity/enterprises"
    assert headers["ce_subject"] == USCC.encode()
    assert headers["ce_time"] == b"2024-01-02T03:04:05Z"
    assert headers["content-type"] == b"application/protobuf"


def test_new_event_refuses_a_message_that_is_not_a_payload() -> None:
    with pytest.raises(TypeError):
        new_event("//integrity/enterprises", USCC, scoring_pb2.Grade())


@pytest.mark.parametrize("value", [None, b""])
def test_decode_rejects_empty_values(value: bytes | None) -> None:
    with pytest.raises(InvalidEvent, match="empty"):
        decode(value)


@pytest.mark.parametrize("value", [b"\xff\xff\xff\xff", b"not protobuf at all \x00\x01", b'{"id": "x"}'])
def test_decode_rejects_garbage(value: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode(value)


def test_decode_rejects_a_type_that_does_not_match_the_payload() -> None:
    event = enterprise_registered(USCC)
    event.type = "integrity.events.v1.GradeChanged"

    with pytest.raises(InvalidEvent, match="does not match payload"):
        decode(event.SerializeToString())


def test_decode_rejects_an_event_without_payload() -> None:
    event = enterprise_registered(USCC)
    event.ClearField("enterprise_registered")

    with pytest.raises(InvalidEvent, match="payload is not set"):
        decode(event.SerializeToString())


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "91610100MA0000001",
        USCC[:-1] + ("0" if USCC[-1] != "0" else "1"),
        USCC.lower(),
        "91610100MA000000IO",
    ],
)
def test_decode_rejects_an_invalid_subject_uscc(subject: str) -> None:
    event = enterprise_registered(USCC)
    event.subject = subject

    with pytest.raises(InvalidEvent, match="not a valid USCC"):
        decode(event.SerializeToString())


def test_decode_names_every_problem_at_once() -> None:
    event = events_pb2.Event(type="integrity.events.v1.EnterpriseRegistered", subject="bad")
    event.enterprise_registered.SetInParent()

    with pytest.raises(InvalidEvent) as raised:
        decode(event.SerializeToString())

    message = str(raised.value)
    assert "id is empty" in message
    assert "not a valid USCC" in message
    assert "occurred_at is not set" in message


def test_dead_letter_topic_name() -> None:
    assert dead_letter(ENTERPRISES) == "integrity.enterprises.v1.dlt"
