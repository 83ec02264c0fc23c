"""Use cases against a real SQLite file (no network): overdue lists, the duplicate window, scoping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrity.complaints.v1 import complaints_pb2 as P
from services.complaints.adapters.tables import TABLES
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.domain.deadlines import Deadlines, Rules
from services.complaints.domain.intake import ComplaintDraft, Contact
from services.complaints.use_cases import queries as listing
from services.complaints.use_cases.filing import create_complaint
from services.complaints.use_cases.reading import list_complaints, list_overdue
from services.complaints.use_cases.workflow import accept_complaint, reject_complaint
from shared.auth import Principal, Role
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from tests.helpers import valid_uscc

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
USCC = valid_uscc(7, "610112")
PUBLIC = Principal.public()
REGULATOR = Principal("xian", Role.REGULATOR, region="610100")
RULES = Rules(Deadlines(accept_working_days=7, resolve_working_days=45), duplicate_window=timedelta(days=30))


@pytest.fixture
def new_uow(tmp_path: Path) -> Iterator[partial[ComplaintsUnitOfWork]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'complaints.db'}")
    create_tables(engine, TABLES)
    yield partial(ComplaintsUnitOfWork, engine)
    engine.dispose()


def draft(category: int = P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE, uscc: str = USCC) -> ComplaintDraft:
    return ComplaintDraft(f"enterprises/{uscc}", category, P.COMPLAINT_CHANNEL_HOTLINE, "少秤")


def file(new_uow, at: datetime, contact: Contact | None = None, principal: Principal = PUBLIC, **kw):  # type: ignore[no-untyped-def]
    return create_complaint(new_uow(), kw.get("draft", draft()), contact, "", principal, RULES, now=at)


def test_overdue_lists_open_complaints_past_their_state_deadline(new_uow) -> None:  # type: ignore[no-untyped-def]
    # NOW is 1 May 2026, Labour Day (1-5 May off): filed on 11 April, the 7 working days ended on 21 April;
    # filed on 25 April, they end on 8 May (a calendar week would have passed on 2 May).
    late_to_accept = file(new_uow, NOW - timedelta(days=20)).complaint
    on_time = file(new_uow, NOW - timedelta(days=6), Contact("", "13900000001")).complaint
    # Accepted on 10 February, the 45 working days ended on 21 April; accepted on 3 March, on 11 May.
    late_to_resolve = file(new_uow, NOW - timedelta(days=81), Contact("", "13900000002")).complaint
    accept_complaint(new_uow(), late_to_resolve.name, "", REGULATOR, now=NOW - timedelta(days=80))
    accepted_recently = file(new_uow, NOW - timedelta(days=80), Contact("", "13900000003")).complaint
    accept_complaint(new_uow(), accepted_recently.name, "", REGULATOR, now=NOW - timedelta(days=59))
    rejected = file(new_uow, NOW - timedelta(days=30), Contact("", "13900000004")).complaint
    reject_complaint(new_uow(), rejected.name, "超出管辖", "", REGULATOR, now=NOW - timedelta(days=1))

    page = list_overdue(new_uow(), REGULATOR, RULES, now=NOW, page_size=1)
    names = [c.name for c in page.complaints]
    page = list_overdue(new_uow(), REGULATOR, RULES, now=NOW, page_token=page.next_page_token)
    names += [c.name for c in page.complaints]
    assert sorted(names) == sorted([late_to_accept.name, late_to_resolve.name]) and not page.next_page_token
    assert on_time.name not in names
    elsewhere = Principal("baoji", Role.REGULATOR, region="610300")
    assert list_overdue(new_uow(), elsewhere, RULES, now=NOW).complaints == []


def test_repeats_within_the_window_link_to_the_original(new_uow) -> None:  # type: ignore[no-untyped-def]
    contact = Contact("张三", "13900000009")
    original = file(new_uow, NOW - timedelta(days=40), contact).complaint
    fresh = file(new_uow, NOW - timedelta(days=5), contact).complaint
    assert fresh.duplicate_of is None  # the first is outside the 30-day window
    repeat = file(new_uow, NOW, contact).complaint
    assert repeat.duplicate_of == fresh.id and original.duplicate_of is None
    other_category = file(
        new_uow, NOW, contact, draft=draft(P.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT)
    ).complaint
    other_person = file(new_uow, NOW, Contact("李四", "13900000010")).complaint
    assert other_category.duplicate_of is None and other_person.duplicate_of is None


def test_a_system_caller_lists_only_what_it_filed(new_uow) -> None:  # type: ignore[no-untyped-def]
    platform = Principal("12315", Role.SYSTEM)
    mine = file(new_uow, NOW, principal=platform).complaint
    file(new_uow, NOW)
    file(new_uow, NOW, principal=Principal("hotline", Role.SYSTEM))
    assert [c.name for c in list_complaints(new_uow(), platform).complaints] == [mine.name]
    assert len(list_complaints(new_uow(), REGULATOR).complaints) == 3
    long_named = Principal("system:" + "x" * 1000, Role.SYSTEM)
    theirs = file(new_uow, NOW, principal=long_named).complaint
    assert [c.name for c in list_complaints(new_uow(), long_named).complaints] == [theirs.name]


def test_other_roles_may_not_file(new_uow) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError) as caught:
        file(new_uow, NOW, principal=REGULATOR)
    assert caught.value.kind == ErrorKind.PERMISSION_DENIED


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.sampled_from(["state = RECEIVED AND", "duplicate = maybe", "x = 1"]))
def test_any_filter_is_parsed_or_invalid_argument_on_filter(text: str) -> None:
    try:
        listing.parse_filter(text)
    except IntegrityError as err:
        assert err.kind == ErrorKind.INVALID_ARGUMENT and [v.field for v in err.field_violations] == [
            "filter"
        ]


def test_filters() -> None:
    query = listing.parse_filter(
        f'enterprise = "enterprises/{USCC}" AND state = RESOLVED AND duplicate = false'
    )
    assert (query.uscc, query.state, query.duplicate) == (USCC, P.COMPLAINT_STATE_RESOLVED, False)
    assert listing.parse_filter("category = COMPLAINT_CATEGORY_OTHER").category == P.COMPLAINT_CATEGORY_OTHER
    assert listing.parse_filter("region_code = 610100").region_code == "610100"


categories = st.sampled_from(sorted(v for v in P.ComplaintCategory.values() if v))
contacts = st.none() | st.builds(
    Contact, st.sampled_from(["", "张三", "李四"]), st.sampled_from(["", "13900000000"])
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(category=categories, contact=contacts, system=st.booleans())
def test_a_repeated_request_is_filed_once(
    new_uow, category: int, contact: Contact | None, system: bool
) -> None:  # type: ignore[no-untyped-def]
    principal = Principal("12315", Role.SYSTEM) if system else PUBLIC
    request_id = str(uuid.uuid4())
    first = create_complaint(new_uow(), draft(category), contact, request_id, principal, RULES, now=NOW)
    again = create_complaint(new_uow(), draft(category), contact, request_id, principal, RULES, now=NOW)
    assert first.created and not again.created
    assert (again.complaint.id, again.complaint.receipt_code) == (
        first.complaint.id,
        first.complaint.receipt_code,
    )
    stored = contact if contact and (contact.display_name or contact.phone) else None
    assert again.contact == (stored if system else None)
    with new_uow() as uow:
        assert uow.complaints.get_by_request_id(request_id) == first.complaint
