"""Use cases against the in-memory unit of work: filing and its repeats, the workflow's moves and what they
publish, and what each caller may list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrity.complaints.v1 import complaints_pb2 as P
from services.complaints.domain.complaint import Resolution, file_complaint
from services.complaints.domain.deadlines import Deadlines, Rules
from services.complaints.domain.intake import ComplaintDraft, Contact, validate_intake
from services.complaints.manifest import TOPIC
from services.complaints.use_cases.filing import create_complaint
from services.complaints.use_cases.reading import get_complaint, list_complaints
from services.complaints.use_cases.workflow import (
    accept_complaint,
    close_complaint,
    investigate_complaint,
    resolve_complaint,
)
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from tests.helpers import valid_uscc
from tests.unit.complaints.fakes import FakeUnitOfWork

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
USCC = valid_uscc(7, "610112")
PUBLIC = Principal.public()
PLATFORM = Principal("12315", Role.SYSTEM)
REGULATOR = Principal("xian", Role.REGULATOR, region="610100")
RULES = Rules(Deadlines(accept_working_days=7, resolve_working_days=45), duplicate_window=timedelta(days=30))


def draft(description: str = "少秤", uscc: str = USCC) -> ComplaintDraft:
    return ComplaintDraft(
        f"enterprises/{uscc}",
        P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        P.COMPLAINT_CHANNEL_HOTLINE,
        description,
    )


def test_filing_stages_complaint_filed_and_links_a_repeat_to_its_original() -> None:
    uow = FakeUnitOfWork()
    contact = Contact("张三", "13900000009")
    first = create_complaint(uow, draft(), contact, "", PLATFORM, RULES, now=NOW)
    repeat = create_complaint(uow, draft("又少秤"), contact, "", PLATFORM, RULES, now=NOW + timedelta(days=1))

    assert first.created and first.contact == contact  # the system that filed it gets the contact back
    assert repeat.complaint.duplicate_of == first.complaint.id
    assert uow.stored(first.complaint.id).state == P.COMPLAINT_STATE_RECEIVED
    assert [(topic, event.subject) for topic, event in uow.published] == [(TOPIC, USCC), (TOPIC, USCC)]
    filed = uow.published[1][1].complaint_filed
    assert filed.duplicate_of == first.complaint.name and filed.region_code == "610112"
    assert not filed.anonymous
    public = create_complaint(uow, draft(), contact, "", PUBLIC, RULES, now=NOW)
    assert public.contact is None  # the public has no identity to recognise later


def test_a_repeated_request_id_returns_the_original_and_a_reused_one_is_refused() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    first = create_complaint(uow, draft(), None, request_id, PUBLIC, RULES, now=NOW)
    again = create_complaint(uow, draft(), None, request_id.upper(), PUBLIC, RULES, now=NOW)
    assert not again.created and again.complaint == first.complaint
    assert uow.committed_events == 1

    with pytest.raises(IntegrityError) as caught:
        create_complaint(uow, draft("另一件事"), None, request_id, PUBLIC, RULES, now=NOW)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert uow.committed_events == 1 and len(uow.committed) == 1


def test_a_concurrent_create_with_the_same_request_id_wins_and_is_returned() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    intake, _ = validate_intake(draft(), None, request_id, NOW)
    winner = file_complaint(
        intake, contact=None, principal=PUBLIC, now=NOW, request_id=request_id, duplicate_of=None
    )
    uow.before_commit = lambda fake: fake.store(winner)

    filed = create_complaint(uow, draft(), None, request_id, PUBLIC, RULES, now=NOW)

    assert not filed.created and filed.complaint == winner
    assert list(uow.committed) == [winner.id] and uow.published == []


def test_workflow_moves_publish_their_events_and_refuse_what_the_table_does_not_allow() -> None:
    uow = FakeUnitOfWork()
    filed = create_complaint(uow, draft(), None, "", PUBLIC, RULES, now=NOW).complaint
    name = filed.name

    with pytest.raises(IntegrityError) as caught:
        close_complaint(uow, name, "", REGULATOR, now=NOW)
    assert caught.value.reason == "INVALID_STATE_TRANSITION"
    assert caught.value.metadata["allowed_states"] == "ACCEPTED,REJECTED"

    accepted = accept_complaint(uow, name, filed.etag, REGULATOR, now=NOW + timedelta(hours=1))
    investigate_complaint(uow, name, "", REGULATOR, now=NOW + timedelta(hours=2))
    resolution = Resolution(True, P.COMPLAINT_SEVERITY_MAJOR, "查实")
    resolved = resolve_complaint(uow, name, resolution, "", REGULATOR, now=NOW + timedelta(days=3))

    assert accepted.accept_time == NOW + timedelta(hours=1)
    assert uow.stored(filed.id) == resolved and resolved.state == P.COMPLAINT_STATE_RESOLVED
    # Investigating publishes nothing; the others each publish their event.
    assert uow.event_types() == ["complaint_filed", "complaint_accepted", "complaint_resolved"]
    assert uow.published[-1][1].complaint_resolved.severity == P.COMPLAINT_SEVERITY_MAJOR


def test_a_stale_etag_or_a_regulator_elsewhere_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    filed = create_complaint(uow, draft(), None, "", PUBLIC, RULES, now=NOW).complaint
    with pytest.raises(IntegrityError) as caught:
        accept_complaint(uow, filed.name, "stale", REGULATOR, now=NOW)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.ABORTED, "ETAG_MISMATCH")
    elsewhere = Principal("baoji", Role.REGULATOR, region="610300")
    with pytest.raises(IntegrityError) as caught:
        accept_complaint(uow, filed.name, "", elsewhere, now=NOW)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.PERMISSION_DENIED, "OUTSIDE_REGION")
    assert uow.stored(filed.id) == filed and uow.event_types() == ["complaint_filed"]


def test_what_each_caller_may_list_and_read() -> None:
    uow = FakeUnitOfWork()
    decided = create_complaint(uow, draft(), None, "", PUBLIC, RULES, now=NOW).complaint
    open_one = create_complaint(uow, draft("二次"), Contact("", "13900000001"), "", PUBLIC, RULES, now=NOW)
    accept_complaint(uow, decided.name, "", REGULATOR, now=NOW)
    resolve_complaint(uow, decided.name, Resolution(False, 0, "未查实"), "", REGULATOR, now=NOW)

    enterprise = Principal(f"enterprises/{USCC}", Role.ENTERPRISE, uscc=USCC)
    assert [c.id for c in list_complaints(uow, enterprise).complaints] == [decided.id]
    with pytest.raises(IntegrityError) as caught:  # not decided yet: it does not exist for them
        get_complaint(uow, open_one.complaint.name, enterprise)
    assert caught.value.kind == ErrorKind.NOT_FOUND

    assert len(list_complaints(uow, REGULATOR, filter_text="region_code = 610112").complaints) == 2
    with pytest.raises(IntegrityError) as caught:
        list_complaints(uow, REGULATOR, filter_text="region_code = 610300")
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.PERMISSION_DENIED, "OUTSIDE_REGION")
    page = list_complaints(uow, REGULATOR, page_size=1)
    rest = list_complaints(uow, REGULATOR, page_token=page.next_page_token)
    assert [c.id for c in page.complaints + rest.complaints] == sorted([decided.id, open_one.complaint.id])[
        ::-1
    ]
