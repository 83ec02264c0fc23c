"""The complaint workflow's transition table, intake validation and deadlines (pure domain code)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.complaints.v1 import complaints_pb2 as P
from services.complaints.domain.complaint import (
    TRANSITIONS,
    Complaint,
    Resolution,
    accept,
    close,
    file_complaint,
    investigate,
    new_receipt_code,
    normalize_receipt,
    parse_complaint_name,
    reject,
    resolution_violations,
    resolve,
    state_label,
)
from services.complaints.domain.deadlines import Deadlines
from services.complaints.domain.intake import (
    CATEGORIES,
    ComplaintDraft,
    Contact,
    complainant_key,
    validate_intake,
)
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.workdays import CHINA
from tests.helpers import valid_uscc

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
PUBLIC = Principal.public()
STATES = sorted(TRANSITIONS)


def draft(**changes: object) -> ComplaintDraft:
    base = ComplaintDraft(
        enterprise=f"enterprises/{valid_uscc(1, '610112')}",
        category=P.COMPLAINT_CATEGORY_NET_CONTENT_SHORTFALL,
        channel=P.COMPLAINT_CHANNEL_ONLINE,
        description="  净含量不足  ",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def received() -> Complaint:
    intake, contact = validate_intake(draft(), None, "", NOW)
    return file_complaint(
        intake, contact=contact, principal=PUBLIC, now=NOW, request_id=None, duplicate_of=None
    )


def in_state(state: int) -> Complaint:
    return replace(received(), state=state, accept_time=NOW)


MOVES = {
    P.COMPLAINT_STATE_ACCEPTED: accept,
    P.COMPLAINT_STATE_REJECTED: lambda c, now: reject(c, "不属于计量问题", now),
    P.COMPLAINT_STATE_INVESTIGATING: investigate,
    P.COMPLAINT_STATE_RESOLVED: lambda c, now: resolve(c, Resolution(False, 0, "未查实"), now),
    P.COMPLAINT_STATE_CLOSED: close,
}


@pytest.mark.parametrize("source", STATES)
@pytest.mark.parametrize("target", sorted(MOVES))
def test_every_move_follows_the_transition_table(source: int, target: int) -> None:
    complaint = in_state(source)
    later = NOW + timedelta(hours=1)
    if target in TRANSITIONS[source]:
        moved = MOVES[target](complaint, later)
        assert (moved.state, moved.update_time) == (target, later) and moved.etag != complaint.etag
        return
    with pytest.raises(IntegrityError) as caught:
        MOVES[target](complaint, later)
    assert caught.value.kind == ErrorKind.FAILED_PRECONDITION
    assert caught.value.metadata["current_state"] == state_label(source)
    assert state_label(source) in caught.value.message


def test_resolving_a_received_complaint_says_what_is_allowed() -> None:
    with pytest.raises(IntegrityError) as caught:
        resolve(received(), Resolution(True, P.COMPLAINT_SEVERITY_MAJOR, "查实"), NOW)
    assert "RECEIVED" in caught.value.message and "ACCEPTED, REJECTED" in caught.value.message


@pytest.mark.parametrize(
    ("resolution", "fields"),
    [
        (Resolution(True, 0, "查实"), {"severity"}),
        (Resolution(False, P.COMPLAINT_SEVERITY_MINOR, "未查实"), {"severity"}),
        (Resolution(False, 0, "未查实", reward_eligible=True), {"reward_eligible"}),
        (Resolution(True, 99, ""), {"severity", "resolution"}),
    ],
)
def test_resolution_rules(resolution: Resolution, fields: set[str]) -> None:
    assert {v.field for v in resolution_violations(resolution)} == fields


def test_deadlines_count_working_days_per_state_on_the_china_date() -> None:
    deadlines = Deadlines(accept_working_days=7, resolve_working_days=45)
    # Received 1 May 2026 (Labour Day, off until 5 May); Saturday 9 May is an adjusted working day:
    # 6, 7, 8, 9, 11, 12, 13 May are the 7 working days, so acceptance is due by the end of 13 May.
    complaint = received()
    due = datetime(2026, 5, 14, tzinfo=CHINA)
    assert deadlines.due_time(complaint) == due
    assert not deadlines.is_overdue(complaint, due - timedelta(seconds=1))
    assert deadlines.is_overdue(complaint, due)
    # Accepted on 10 February 2026: the Spring Festival (15-23 February) and Qingming (4-6 April) are
    # skipped, the working Saturdays 14 and 28 February counted: the 45th working day is 21 April.
    accepted = accept(complaint, datetime(2026, 2, 10, 9, 30, tzinfo=CHINA))
    assert deadlines.due_time(accepted) == datetime(2026, 4, 22, tzinfo=CHINA)
    resolved = resolve(accepted, Resolution(False, 0, "未查实"), NOW + timedelta(days=3))
    assert deadlines.due_time(resolved) is None


def test_the_complainant_key_hides_the_contact_and_groups_repeats() -> None:
    contact = Contact("张三", "139-0000-1234")
    key = complainant_key(contact, PUBLIC)
    assert "1234" not in key and "张三" not in key
    assert complainant_key(Contact("张三", "13900001234"), PUBLIC) == key
    assert complainant_key(None, PUBLIC) == "anonymous"
    platform = Principal("12315", Role.SYSTEM)
    assert complainant_key(None, platform) != complainant_key(None, Principal("x", Role.SYSTEM))


def test_receipt_codes_are_random_and_normalized() -> None:
    codes = {new_receipt_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = next(iter(codes))
    assert normalize_receipt(f" {code[:4].lower()}-{code[4:]}") == code


def test_valid_intake_is_canonical() -> None:
    intake, contact = validate_intake(draft(), Contact("  ", ""), "", NOW)
    assert intake.description == "净含量不足" and contact is None and intake.region_code == "610112"


# --- property: any input is either accepted or INVALID_ARGUMENT with field violations -------------

text = st.text(max_size=60) | st.sampled_from(["", " ", "enterprises/", "\x00", "a" * 5000])
enterprises = text | st.builds(lambda n: f"enterprises/{valid_uscc(n)}", st.integers(0, 10**6))
timestamps = st.none() | st.datetimes(timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(
    enterprise=enterprises,
    category=st.integers(-(2**31), 2**31 - 1),
    channel=st.integers(-3, 10),
    description=text,
    occur_time=timestamps,
    location=text,
    evidence=st.lists(text, max_size=25),
    name=text,
    phone=text,
    request_id=text | st.uuids().map(str),
)
def test_any_intake_is_valid_or_names_the_bad_fields(
    enterprise: str,
    category: int,
    channel: int,
    description: str,
    occur_time: datetime | None,
    location: str,
    evidence: list[str],
    name: str,
    phone: str,
    request_id: str,
) -> None:
    candidate = ComplaintDraft(
        enterprise, category, channel, description, occur_time, location, tuple(evidence)
    )
    try:
        intake, _ = validate_intake(candidate, Contact(name, phone), request_id, NOW)
    except IntegrityError as err:
        assert err.kind == ErrorKind.INVALID_ARGUMENT and err.field_violations
        assert all(
            v.field.startswith(("complaint.", "complainant.", "request_id")) for v in err.field_violations
        )
        return
    assert intake.category in CATEGORIES and intake.description.strip() == intake.description


@settings(max_examples=200, deadline=None)
@given(name=text, receipt=text)
def test_names_and_receipts_are_parsed_or_invalid_argument(name: str, receipt: str) -> None:
    for parse, value in ((parse_complaint_name, name), (normalize_receipt, receipt)):
        try:
            parse(value)
        except IntegrityError as err:
            assert err.kind == ErrorKind.INVALID_ARGUMENT and err.field_violations
