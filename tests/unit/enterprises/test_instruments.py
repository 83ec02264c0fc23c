"""Instruments under mandatory verification: catalogue, registration, verifications, derived status."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.enterprises.v1 import enterprises_pb2 as pb
from integrity.events.v1 import events_pb2
from services.enterprises.domain.catalogue import INSTRUMENT_KINDS
from services.enterprises.domain.instruments import (
    InstrumentDraft,
    Verification,
    VerificationDraft,
    add_months,
    verification_status,
)
from services.enterprises.use_cases import enterprises, instruments
from services.enterprises.use_cases.instruments import VerificationEntry
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import payload_of
from tests.unit.enterprises.fakes import FakeUnitOfWork, make_draft, make_uscc

TODAY = date(2025, 3, 1)
SYSTEM = Principal("institute", Role.SYSTEM)
USCC = make_uscc(1)
PARENT = f"enterprises/{USCC}"
ITSELF = Principal("e", Role.ENTERPRISE, uscc=USCC)
DISPENSER = InstrumentDraft(pb.INSTRUMENT_TYPE_FUEL_DISPENSER, "JYJ-2023-0001", "3号加油岛 2号枪")


def registry(*serials: int) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    for serial in serials or (1,):
        enterprises.create_enterprise(uow, make_draft(uscc=make_uscc(serial)), "", SYSTEM, today=TODAY)
    uow.published.clear()
    return uow


def add(uow: FakeUnitOfWork, draft: InstrumentDraft = DISPENSER, principal: Principal = SYSTEM) -> str:
    return instruments.create_instrument(uow, PARENT, draft, principal, today=TODAY).instrument.name


def verify(
    uow: FakeUnitOfWork, name: str, on: date, result: int = pb.VERIFICATION_RESULT_PASS, due: str = ""
):  # type: ignore[no-untyped-def]
    entry = VerificationEntry(name, VerificationDraft(on.isoformat(), result, "JD-2025-001", due))
    return instruments.record_verifications(uow, [entry], SYSTEM, today=TODAY)[0]


def status_on(uow: FakeUnitOfWork, day: date) -> int:
    [instrument] = instruments.list_instruments(uow, PARENT, SYSTEM, today=day).instruments
    return instrument.status


def error_of(uow: FakeUnitOfWork, call, *args, **kwargs) -> IntegrityError:  # type: ignore[no-untyped-def]
    before = (dict(uow.committed_instruments), list(uow.committed_verifications), len(uow.published))
    with pytest.raises(IntegrityError) as caught:
        call(*args, **kwargs)
    assert (uow.committed_instruments, uow.committed_verifications, len(uow.published)) == before
    return caught.value


# --- catalogue and dates ----------------------------------------------------------------------------


def test_the_catalogue_covers_every_instrument_type_with_a_cycle() -> None:
    assert set(INSTRUMENT_KINDS) == {v for v in pb.InstrumentType.values() if v != 0}
    assert INSTRUMENT_KINDS[pb.INSTRUMENT_TYPE_FUEL_DISPENSER].cycle_months == 6
    assert all(kind.cycle_months > 0 for kind in INSTRUMENT_KINDS.values())


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 3, 1), 12, date(2026, 3, 1)),
        (date(2025, 11, 15), 120, date(2035, 11, 15)),
    ],
)
def test_adding_months_keeps_the_day_or_takes_the_months_last(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


# --- registering ------------------------------------------------------------------------------------


def test_an_enterprise_registers_its_own_instrument_and_an_event_keyed_by_its_uscc_is_staged() -> None:
    uow = registry()
    created = instruments.create_instrument(uow, PARENT, DISPENSER, ITSELF, today=TODAY)
    assert created.status == pb.VERIFICATION_STATUS_UNVERIFIED and created.last_verification is None
    assert created.instrument.usage == pb.INSTRUMENT_USAGE_IN_USE
    assert created.instrument.name.startswith(f"{PARENT}/instruments/")
    [(_, event)] = uow.published
    payload = payload_of(event)
    assert isinstance(payload, events_pb2.InstrumentRegistered) and event.subject == USCC
    assert payload.instrument.serial_number == "JYJ-2023-0001"


def test_another_enterprise_may_not_register_instruments_for_it() -> None:
    uow = registry(1, 2)
    other = Principal("e", Role.ENTERPRISE, uscc=make_uscc(2))
    err = error_of(uow, instruments.create_instrument, uow, PARENT, DISPENSER, other, today=TODAY)
    assert err.kind == ErrorKind.PERMISSION_DENIED


def test_registering_twice_already_exists_and_for_a_missing_enterprise_is_not_found() -> None:
    uow = registry()
    add(uow)
    uow.published.clear()
    assert error_of(uow, add, uow).kind == ErrorKind.ALREADY_EXISTS
    missing = f"enterprises/{make_uscc(9)}"
    err = error_of(uow, instruments.create_instrument, uow, missing, DISPENSER, SYSTEM)
    assert err.kind == ErrorKind.NOT_FOUND


def test_every_invalid_instrument_field_is_reported() -> None:
    uow = registry()
    bad = InstrumentDraft(type=99, serial_number=" ", location="a\nb", usage=7)
    err = error_of(uow, add, uow, bad)
    assert {v.field for v in err.field_violations} == {
        "instrument.type",
        "instrument.serial_number",
        "instrument.location",
        "instrument.usage",
    }


# --- verifications and the status derived when read -------------------------------------------------


def test_the_next_due_date_defaults_to_the_types_cycle_and_can_be_given() -> None:
    uow = registry()
    name = add(uow)
    recorded = verify(uow, name, date(2025, 1, 10))
    assert recorded.last_verification is not None
    assert recorded.last_verification.next_due_date == date(2025, 7, 10)  # dispenser: six months
    explicit = verify(uow, name, date(2025, 2, 1), due="2025-05-01")
    assert explicit.last_verification is not None
    assert explicit.last_verification.next_due_date == date(2025, 5, 1)


def test_an_instrument_becomes_due_soon_then_overdue_without_anyone_touching_it() -> None:
    uow = registry()
    name = add(uow)
    verify(uow, name, date(2025, 1, 10))  # due 2025-07-10
    touched = (dict(uow.committed_instruments), list(uow.committed_verifications), len(uow.published))
    assert status_on(uow, date(2025, 6, 9)) == pb.VERIFICATION_STATUS_VALID
    assert status_on(uow, date(2025, 6, 10)) == pb.VERIFICATION_STATUS_DUE_SOON
    assert status_on(uow, date(2025, 7, 10)) == pb.VERIFICATION_STATUS_DUE_SOON
    assert status_on(uow, date(2025, 7, 11)) == pb.VERIFICATION_STATUS_OVERDUE
    assert (dict(uow.committed_instruments), list(uow.committed_verifications), len(uow.published)) == touched


def test_a_failed_verification_fails_until_a_later_pass_and_a_backfill_does_not_override() -> None:
    uow = registry()
    name = add(uow)
    verify(uow, name, date(2025, 2, 1), pb.VERIFICATION_RESULT_FAIL)
    assert status_on(uow, TODAY) == pb.VERIFICATION_STATUS_FAILED
    verify(uow, name, date(2024, 12, 1))  # an older pass recorded late changes nothing
    assert status_on(uow, TODAY) == pb.VERIFICATION_STATUS_FAILED
    verify(uow, name, date(2025, 2, 20))
    assert status_on(uow, TODAY) == pb.VERIFICATION_STATUS_VALID


@settings(max_examples=200)
@given(
    verified=st.dates(date(2000, 1, 1), date(2030, 1, 1)),
    cycle_days=st.integers(1, 4000),
    first=st.integers(-400, 4400),
    step=st.integers(0, 400),
)
def test_the_status_of_a_passed_instrument_only_moves_towards_overdue_as_days_pass(
    verified: date, cycle_days: int, first: int, step: int
) -> None:
    passed = Verification(verified, pb.VERIFICATION_RESULT_PASS, "c", verified + timedelta(days=cycle_days))
    order = [pb.VERIFICATION_STATUS_VALID, pb.VERIFICATION_STATUS_DUE_SOON, pb.VERIFICATION_STATUS_OVERDUE]
    earlier = verification_status(passed, verified + timedelta(days=first))
    later = verification_status(passed, verified + timedelta(days=first + step))
    assert order.index(earlier) <= order.index(later)
    assert (later == pb.VERIFICATION_STATUS_OVERDUE) == (first + step > cycle_days)


def test_recording_verifications_stages_one_event_each_keyed_by_the_uscc() -> None:
    uow = registry()
    name = add(uow)
    uow.published.clear()
    verify(uow, name, date(2025, 2, 1))
    [(_, event)] = uow.published
    payload = payload_of(event)
    assert isinstance(payload, events_pb2.VerificationRecorded) and event.subject == USCC
    assert payload.instrument == name and payload.verification.next_due_date == "2025-08-01"
    assert event.occurred_at.ToDatetime().date() == date(2025, 1, 31)  # midnight China time, in UTC


def test_a_batch_with_one_bad_entry_records_nothing_and_names_its_path() -> None:
    uow = registry()
    name = add(uow)
    uow.published.clear()
    good = VerificationDraft("2025-02-01", pb.VERIFICATION_RESULT_PASS, "JD-1")
    entries = [
        VerificationEntry(name, good, "requests[0].instrument", "requests[0].verification"),
        VerificationEntry(
            name,
            VerificationDraft("2099-01-01", 0, "", "2000-01-01"),
            "requests[1].instrument",
            "requests[1].verification",
        ),
        VerificationEntry(
            "enterprises/x/instruments/y",
            dataclasses.replace(good, result=7),
            "requests[2].instrument",
            "requests[2].verification",
        ),
    ]
    err = error_of(uow, instruments.record_verifications, uow, entries, SYSTEM, today=TODAY)
    assert err.kind == ErrorKind.INVALID_ARGUMENT
    assert {v.field for v in err.field_violations} == {
        "requests[1].verification.verification_date",
        "requests[1].verification.result",
        "requests[1].verification.certificate_number",
        "requests[2].instrument",
        "requests[2].verification.result",
    }
    missing = [VerificationEntry(name, good), VerificationEntry(f"{PARENT}/instruments/{'0' * 16}", good)]
    err = error_of(uow, instruments.record_verifications, uow, missing, SYSTEM, today=TODAY)
    assert err.kind == ErrorKind.NOT_FOUND
    assert error_of(uow, instruments.record_verifications, uow, [], SYSTEM).kind == ErrorKind.INVALID_ARGUMENT


def test_a_due_date_before_the_verification_is_invalid() -> None:
    uow = registry()
    name = add(uow)
    uow.published.clear()
    entry = VerificationEntry(
        name, VerificationDraft("2025-02-01", pb.VERIFICATION_RESULT_PASS, "c", "2025-01-01")
    )
    err = error_of(uow, instruments.record_verifications, uow, [entry], SYSTEM, today=TODAY)
    assert [v.field for v in err.field_violations] == ["verification.next_due_date"]


# --- listing ----------------------------------------------------------------------------------------


def walk(uow: FakeUnitOfWork, principal: Principal, page_size: int) -> list[str]:
    seen, token = [], ""
    while True:
        page = instruments.list_instruments(
            uow, PARENT, principal, page_size=page_size, page_token=token, today=TODAY
        )
        assert len(page.instruments) <= page_size
        seen += [v.instrument.name for v in page.instruments]
        token = page.next_page_token
        if not token:
            return seen


def test_walking_the_pages_returns_each_instrument_once_to_whom_it_concerns() -> None:
    uow = registry(1, 2)
    names = {add(uow, InstrumentDraft(pb.INSTRUMENT_TYPE_TRADE_SCALE, f"TS-{n}")) for n in range(11)}
    for principal in (SYSTEM, ITSELF, Principal("r", Role.REGULATOR, region="610100")):
        walked = walk(uow, principal, 3)
        assert len(walked) == len(set(walked)) and set(walked) == names
    for outsider in (
        Principal("e", Role.ENTERPRISE, uscc=make_uscc(2)),
        Principal("r", Role.REGULATOR, region="610200"),
    ):
        assert error_of(uow, instruments.list_instruments, uow, PARENT, outsider).kind == (
            ErrorKind.PERMISSION_DENIED
        )


def test_page_tokens_are_bound_to_their_parent_and_sizes_are_checked() -> None:
    uow = registry(1, 2)
    for n in range(3):
        add(uow, InstrumentDraft(pb.INSTRUMENT_TYPE_TAXI_METER, f"TX-{n}"))
    token = instruments.list_instruments(uow, PARENT, SYSTEM, page_size=1).next_page_token
    other = f"enterprises/{make_uscc(2)}"
    for kwargs, field in (
        ({"page_token": token, "parent": other}, "page_token"),
        ({"page_token": "garbage"}, "page_token"),
        ({"page_size": -1}, "page_size"),
        ({"parent": "enterprises/nope"}, "parent"),
    ):
        arguments = {"parent": PARENT, **kwargs}
        parent = arguments.pop("parent")
        err = error_of(uow, instruments.list_instruments, uow, parent, SYSTEM, **arguments)
        assert [v.field for v in err.field_violations] == [field]
    assert len(instruments.list_instruments(uow, PARENT, SYSTEM, page_size=10**6).instruments) == 3


def test_a_repeated_request_id_returns_the_original_instrument_and_a_reused_one_already_exists() -> None:
    uow = registry()
    request_id = "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"
    first = instruments.create_instrument(uow, PARENT, DISPENSER, SYSTEM, request_id, today=TODAY)
    verify(uow, first.instrument.name, date(2025, 2, 1))
    events = len(uow.published)
    again = instruments.create_instrument(uow, PARENT, DISPENSER, ITSELF, request_id.upper(), today=TODAY)
    assert again.instrument == first.instrument and again.status == pb.VERIFICATION_STATUS_VALID
    assert len(uow.published) == events
    other = InstrumentDraft(pb.INSTRUMENT_TYPE_TAXI_METER, "TX-9")
    err = error_of(uow, instruments.create_instrument, uow, PARENT, other, SYSTEM, request_id)
    assert err.kind == ErrorKind.ALREADY_EXISTS and err.reason == "REQUEST_ID_REUSED"
    bad = error_of(uow, instruments.create_instrument, uow, PARENT, DISPENSER, SYSTEM, "not-a-uuid")
    assert [v.field for v in bad.field_violations] == ["request_id"]
