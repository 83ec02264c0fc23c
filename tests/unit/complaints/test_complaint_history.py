"""Importing complaint events (`use_cases/history.py`) against the in-memory unit of work: the API's rules in
the API's words, events already present, and only accepted events staged."""

from __future__ import annotations

from integrity.complaints.v1 import complaints_pb2 as P
from integrity.events.v1 import events_pb2
from services.complaints.manifest import TOPIC
from services.complaints.use_cases.history import stage_imported
from shared.events import Event, new_event
from shared.history_import import IMPORTED, PRESENT, ImportOutcome, Outcome
from tests.helpers import valid_uscc
from tests.unit.complaints.fakes import FakeUnitOfWork

USCC = valid_uscc(4, "610112")
NAME = "complaints/0193a1b2c3d4e5f6a7b8c9d0"
SHORT_WEIGHT = P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE
HOTLINE, MINOR = P.COMPLAINT_CHANNEL_HOTLINE, P.COMPLAINT_SEVERITY_MINOR


def event(payload: object) -> Event:
    return new_event("//integrity/complaints", USCC, payload)  # type: ignore[arg-type]


def staged(
    events: list[Event], uow: FakeUnitOfWork | None = None
) -> tuple[list[ImportOutcome], FakeUnitOfWork]:
    uow = uow or FakeUnitOfWork()
    with uow:
        outcomes = stage_imported(uow, events, TOPIC)
        uow.commit()
    return outcomes, uow


def test_valid_events_are_staged_and_importing_them_again_finds_them_present() -> None:
    events = [
        event(
            events_pb2.ComplaintFiled(
                complaint=NAME,
                category=SHORT_WEIGHT,
                channel=HOTLINE,
                region_code="610112",
            )
        ),
        event(events_pb2.ComplaintAccepted(complaint=NAME, category=SHORT_WEIGHT)),
        event(
            events_pb2.ComplaintResolved(
                complaint=NAME, category=SHORT_WEIGHT, substantiated=True, severity=MINOR
            )
        ),
    ]
    outcomes, uow = staged([*events, events[0]])
    assert outcomes == [IMPORTED, IMPORTED, IMPORTED, PRESENT]  # a repeat in the batch is present
    assert [(topic, e.id) for topic, e in uow.published] == [(TOPIC, e.id) for e in events]

    again, uow = staged(events, uow)
    assert again == [PRESENT] * 3 and len(uow.published) == 3


def test_what_the_api_would_refuse_is_refused_in_its_words_and_not_staged() -> None:
    refused = [
        event(events_pb2.ComplaintAccepted(complaint="complaints/x", category=SHORT_WEIGHT)),
        event(events_pb2.ComplaintRejected(complaint=NAME, category=0, duplicate_of="nope")),
        event(events_pb2.ComplaintFiled(complaint=NAME, category=SHORT_WEIGHT, channel=99, region_code="1")),
        event(events_pb2.ComplaintResolved(complaint=NAME, category=SHORT_WEIGHT, substantiated=True)),
        event(events_pb2.ComplaintResolved(complaint=NAME, category=SHORT_WEIGHT, severity=MINOR)),
    ]
    outcomes, uow = staged(refused)
    assert all(o.outcome == Outcome.REFUSED for o in outcomes) and uow.published == []
    messages = [o.message for o in outcomes]
    assert messages[0].startswith("ComplaintAccepted: complaint: must be a complaint name like")
    assert "category: is required, one of the ComplaintCategory values" in messages[1]
    assert "duplicate_of: must be a complaint name" in messages[1]
    assert (
        "channel: 99 is not a known ComplaintChannel value" in messages[2] and "region_code:" in messages[2]
    )
    assert "severity: is required" in messages[3]
    assert "severity: must be unset when the complaint is not substantiated" in messages[4]
