"""Use cases against the in-memory unit of work: registration, idempotency, events, read scoping."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.events.v1 import events_pb2
from operations import catalogue
from services.enterprises.domain.enterprise import register, validate_registration
from services.enterprises.use_cases import enterprises
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import payload_of, utcnow
from tests.unit.enterprises.fakes import FakeUnitOfWork, make_draft, make_uscc

TODAY = date(2025, 3, 1)
SYSTEM = Principal("registry", Role.SYSTEM)


def create(uow: FakeUnitOfWork, request_id: str = "", **changes: object) -> enterprises.Created:
    return enterprises.create_enterprise(uow, make_draft(**changes), request_id, SYSTEM, today=TODAY)


def error_of(call, *args, **kwargs) -> IntegrityError:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_creating_stores_the_enterprise_and_stages_one_registered_event() -> None:
    uow = FakeUnitOfWork()
    result = create(uow)
    assert result.created and result.enterprise.status == 1
    assert uow.committed[result.enterprise.uscc] == result.enterprise
    [(topic, event)] = uow.published
    assert topic == catalogue.ENTERPRISES.publishes
    assert event.subject == result.enterprise.uscc and event.source == "//integrity/enterprises"
    payload = payload_of(event)
    assert isinstance(payload, events_pb2.EnterpriseRegistered)
    assert payload.enterprise.uscc == result.enterprise.uscc
    assert payload.enterprise.industry_code == "F5265"
    assert uow.committed_events == 1


def test_an_invalid_registration_writes_nothing() -> None:
    uow = FakeUnitOfWork()
    err = error_of(create, uow, region_code="bad")
    assert err.kind == ErrorKind.INVALID_ARGUMENT
    assert uow.committed == {} and uow.published == [] and uow.entered == 0


def test_a_second_create_of_the_same_uscc_already_exists_and_hints_at_request_id() -> None:
    uow = FakeUnitOfWork()
    create(uow)
    err = error_of(create, uow, display_name="另一个名字")
    assert err.kind == ErrorKind.ALREADY_EXISTS
    assert err.metadata["resource"] == f"enterprises/{make_uscc(1)}"
    assert "request_id" in err.message
    assert len(uow.published) == 1


def test_repeating_a_request_id_returns_the_original_without_a_second_event() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    first = create(uow, request_id)
    # The same registration, spelled differently (industry without its letter, padded name).
    again = create(uow, request_id.upper(), industry_code="F5265", display_name=" 西安市某某加油站有限公司")
    assert not again.created and again.enterprise == first.enterprise
    assert len(uow.published) == 1


def test_a_request_id_reused_for_a_different_enterprise_already_exists() -> None:
    uow = FakeUnitOfWork()
    request_id = str(uuid.uuid4())
    create(uow, request_id)
    err = error_of(create, uow, request_id, uscc=make_uscc(2))
    assert err.kind == ErrorKind.ALREADY_EXISTS and err.reason == "REQUEST_ID_REUSED"
    assert make_uscc(2) not in uow.committed


def _concurrent_create(request_id: str | None, **changes: object):  # type: ignore[no-untyped-def]
    def slip_in(uow: FakeUnitOfWork) -> None:
        other = register(validate_registration(make_draft(**changes), today=TODAY), utcnow(), request_id)
        uow.committed[other.uscc] = other

    return slip_in


def test_losing_a_race_with_the_same_request_returns_the_winners_enterprise() -> None:
    request_id = str(uuid.uuid4())
    uow = FakeUnitOfWork(before_commit=_concurrent_create(request_id))
    result = create(uow, request_id)
    assert not result.created and result.enterprise == uow.committed[make_uscc(1)]
    assert uow.published == []


def test_losing_a_race_with_another_request_for_the_same_uscc_already_exists() -> None:
    uow = FakeUnitOfWork(before_commit=_concurrent_create(None, display_name="抢先注册"))
    err = error_of(create, uow, str(uuid.uuid4()))
    assert err.kind == ErrorKind.ALREADY_EXISTS
    assert uow.published == []


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3)), max_size=12))
def test_any_sequence_of_retried_creates_registers_each_enterprise_once(
    attempts: list[tuple[int, int]],
) -> None:
    """Request r always registers enterprise r; repeats return it, and each gets exactly one event."""
    uow = FakeUnitOfWork()
    request_ids = {n: str(uuid.UUID(int=n)) for n in range(1, 5)}
    seen: dict[int, object] = {}
    for serial, _repeat in attempts:
        result = create(uow, request_ids[serial], uscc=make_uscc(serial))
        assert result.created == (serial not in seen)
        seen.setdefault(serial, result.enterprise)
        assert result.enterprise == seen[serial]
    assert sorted(e.subject for _, e in uow.published) == sorted(make_uscc(s) for s in seen)


# --- reading ----------------------------------------------------------------------------------------


def test_get_returns_the_enterprise_to_whom_it_concerns() -> None:
    uow = FakeUnitOfWork()
    enterprise = create(uow).enterprise
    for principal in (
        SYSTEM,
        Principal("r", Role.REGULATOR, region="610000"),
        Principal("r", Role.REGULATOR, region="610112"),
        Principal("i", Role.INSPECTOR, region="610100"),
        Principal("e", Role.ENTERPRISE, uscc=enterprise.uscc),
    ):
        assert enterprises.get_enterprise(uow, enterprise.name, principal) == enterprise


def test_an_enterprise_cannot_learn_whether_another_enterprise_exists() -> None:
    uow = FakeUnitOfWork()
    create(uow)
    other = Principal("e", Role.ENTERPRISE, uscc=make_uscc(2))
    registered = error_of(enterprises.get_enterprise, uow, f"enterprises/{make_uscc(1)}", other)
    missing = error_of(enterprises.get_enterprise, uow, f"enterprises/{make_uscc(3)}", other)
    assert registered.kind == missing.kind == ErrorKind.PERMISSION_DENIED


def test_a_regulator_of_another_region_is_denied_and_a_missing_enterprise_is_not_found() -> None:
    uow = FakeUnitOfWork()
    create(uow)
    regulator = Principal("r", Role.REGULATOR, region="610200")
    assert error_of(enterprises.get_enterprise, uow, f"enterprises/{make_uscc(1)}", regulator).kind == (
        ErrorKind.PERMISSION_DENIED
    )
    assert (
        error_of(enterprises.get_enterprise, uow, f"enterprises/{make_uscc(4)}", SYSTEM).kind
        == ErrorKind.NOT_FOUND
    )
    assert (
        error_of(enterprises.get_enterprise, uow, "enterprises/nope", SYSTEM).kind
        == ErrorKind.INVALID_ARGUMENT
    )


def _populate(uow: FakeUnitOfWork) -> None:
    regions = ["610112", "610113", "610202", "610302", "440106"]
    for serial in range(1, 26):
        region = regions[serial % len(regions)]
        create(uow, uscc=make_uscc(serial, region), region_code=region)


def _walk(uow: FakeUnitOfWork, principal: Principal, filter_text: str = "", page_size: int = 4) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = enterprises.list_enterprises(
            uow, principal, filter_text=filter_text, page_size=page_size, page_token=token
        )
        assert len(page.enterprises) <= page_size
        seen += [e.uscc for e in page.enterprises]
        token = page.next_page_token
        if not token:
            return seen


def test_walking_all_pages_returns_each_match_once_in_order() -> None:
    uow = FakeUnitOfWork()
    _populate(uow)
    everything = _walk(uow, SYSTEM)
    assert everything == sorted(uow.committed) and len(everything) == 25
    xian = _walk(uow, SYSTEM, 'region_code = "610100"', page_size=3)
    assert xian == sorted(u for u, e in uow.committed.items() if e.region_code.startswith("6101"))


def test_a_regulator_lists_their_region_by_default_and_is_denied_outside_it() -> None:
    uow = FakeUnitOfWork()
    _populate(uow)
    regulator = Principal("r", Role.REGULATOR, region="610100")
    listed = _walk(uow, regulator)
    assert listed and all(uow.committed[u].region_code.startswith("6101") for u in listed)
    assert _walk(uow, regulator, "region_code = 610112")
    for outside in ("610200", "610000", "440100"):
        err = error_of(enterprises.list_enterprises, uow, regulator, filter_text=f"region_code = {outside}")
        assert err.kind == ErrorKind.PERMISSION_DENIED


def test_an_inspector_without_region_and_the_public_list_nothing() -> None:
    uow = FakeUnitOfWork()
    for principal in (Principal("i", Role.INSPECTOR), Principal.public()):
        assert error_of(enterprises.list_enterprises, uow, principal).kind == ErrorKind.PERMISSION_DENIED
