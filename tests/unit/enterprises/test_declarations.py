"""Self-declarations: own USCC only, validation, withdrawal, public codes and what the public sees."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.enterprises.v1 import enterprises_pb2 as pb
from integrity.events.v1 import events_pb2
from services.enterprises.domain.declarations import (
    PUBLIC_CODE,
    CapabilityDraft,
    CommitmentDraft,
    new_public_code,
)
from services.enterprises.use_cases import declarations, enterprises
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import payload_of
from tests.unit.enterprises.fakes import FakeUnitOfWork, make_draft, make_uscc

TODAY = date(2025, 3, 1)
USCC = make_uscc(1)
PARENT = f"enterprises/{USCC}"
ITSELF = Principal("e", Role.ENTERPRISE, uscc=USCC)
PROMISE = CommitmentDraft(
    (
        pb.COMMITMENT_ITEM_NO_CHEATING_DEVICES,
        pb.COMMITMENT_ITEM_VERIFIED_INSTRUMENTS,
        pb.COMMITMENT_ITEM_NO_CHEATING_DEVICES,
    ),
    " 缺一赔十 ",
    "2025-03-01",
    "2026-02-28",
)
CAPABILITY = CapabilityDraft(True, "CMS-2024-0042", 40, 2, True)


def registry() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    for serial in (1, 2):
        enterprises.create_enterprise(
            uow, make_draft(uscc=make_uscc(serial)), "", Principal("s", Role.SYSTEM), today=TODAY
        )
    uow.published.clear()
    return uow


def snapshot(uow: FakeUnitOfWork) -> tuple[object, ...]:
    return (dict(uow.committed_commitments), dict(uow.committed_capabilities), len(uow.published))


def error_of(uow: FakeUnitOfWork, call, *args, **kwargs) -> IntegrityError:  # type: ignore[no-untyped-def]
    before = snapshot(uow)
    with pytest.raises(IntegrityError) as caught:
        call(*args, **kwargs)
    assert snapshot(uow) == before  # nothing written
    return caught.value


def commit(uow: FakeUnitOfWork, draft: CommitmentDraft = PROMISE):  # type: ignore[no-untyped-def]
    return declarations.create_commitment(uow, PARENT, draft, ITSELF, today=TODAY)


def test_a_commitment_gets_a_public_code_and_a_declared_event() -> None:
    uow = registry()
    commitment, state = commit(uow)
    assert state == pb.COMMITMENT_STATE_ACTIVE and PUBLIC_CODE.fullmatch(commitment.public_code)
    assert commitment.items == (
        pb.COMMITMENT_ITEM_VERIFIED_INSTRUMENTS,
        pb.COMMITMENT_ITEM_NO_CHEATING_DEVICES,
    )
    assert commitment.free_text == "缺一赔十" and commitment.name.startswith(f"{PARENT}/commitments/")
    [(_, event)] = uow.published
    payload = payload_of(event)
    assert isinstance(payload, events_pb2.CommitmentDeclared) and event.subject == USCC
    assert payload.commitment.public_code == commitment.public_code


@pytest.mark.parametrize(
    "principal",
    [
        Principal("e", Role.ENTERPRISE, uscc=make_uscc(2)),
        Principal("s", Role.SYSTEM),
        Principal("r", Role.REGULATOR, region="610000"),
        Principal.public(),
    ],
)
def test_nobody_but_the_enterprise_itself_declares_for_it(principal: Principal) -> None:
    uow = registry()
    commitment, _ = commit(uow)
    denied = [
        error_of(uow, declarations.create_commitment, uow, PARENT, PROMISE, principal, today=TODAY),
        error_of(uow, declarations.declare_capability, uow, PARENT, CAPABILITY, principal),
        error_of(uow, declarations.withdraw_commitment, uow, commitment.name, principal, today=TODAY),
    ]
    assert [err.kind for err in denied] == [ErrorKind.PERMISSION_DENIED] * 3


def test_every_invalid_commitment_field_is_reported() -> None:
    uow = registry()
    bad = CommitmentDraft((99,), "a\x00b", "2025-02-28", "2031-01-01")
    err = error_of(uow, commit, uow, bad)
    assert {v.field for v in err.field_violations} == {
        "commitment.items",
        "commitment.free_text",
        "commitment.valid_from",
    }
    err = error_of(uow, commit, uow, CommitmentDraft((), "", "2025-03-02", "2025-03-02"))
    assert {v.field for v in err.field_violations} == {"commitment.items", "commitment.valid_until"}
    err = error_of(uow, commit, uow, CommitmentDraft((1,), "", "2025-03-02", "2031-03-02"))
    assert [v.field for v in err.field_violations] == ["commitment.valid_until"]


def test_withdrawing_keeps_the_commitment_on_record_once() -> None:
    uow = registry()
    commitment, _ = commit(uow)
    withdrawn, state = declarations.withdraw_commitment(uow, commitment.name, ITSELF, today=TODAY)
    assert state == pb.COMMITMENT_STATE_WITHDRAWN and withdrawn.withdraw_time is not None
    assert isinstance(payload_of(uow.published[-1][1]), events_pb2.CommitmentWithdrawn)
    again = error_of(uow, declarations.withdraw_commitment, uow, commitment.name, ITSELF, today=TODAY)
    assert again.kind == ErrorKind.FAILED_PRECONDITION and again.reason == "ALREADY_WITHDRAWN"
    shown = declarations.lookup_public_code(uow, commitment.public_code, today=TODAY)
    assert shown.state == pb.COMMITMENT_STATE_WITHDRAWN


def test_an_expired_commitment_cannot_be_withdrawn_and_a_missing_one_is_not_found() -> None:
    uow = registry()
    commitment, _ = commit(uow)
    err = error_of(
        uow, declarations.withdraw_commitment, uow, commitment.name, ITSELF, today=date(2026, 3, 1)
    )
    assert err.reason == "EXPIRED"
    missing = f"{PARENT}/commitments/{'0' * 16}"
    assert error_of(uow, declarations.withdraw_commitment, uow, missing, ITSELF).kind == ErrorKind.NOT_FOUND
    bad = error_of(uow, declarations.withdraw_commitment, uow, "commitments/1", ITSELF)
    assert [v.field for v in bad.field_violations] == ["name"]


def test_capability_rules_and_its_public_code() -> None:
    uow = registry()
    declared = declarations.declare_capability(uow, PARENT, CAPABILITY, ITSELF)
    assert declared.public_code.startswith("CAP-") and declared.iso10012_certificate_number == "CMS-2024-0042"
    assert isinstance(payload_of(uow.published[-1][1]), events_pb2.CapabilityDeclared)
    bad = CapabilityDraft(False, "CMS-1", -1, 0, True)
    err = error_of(uow, declarations.declare_capability, uow, PARENT, bad, ITSELF)
    assert {v.field for v in err.field_violations} == {
        "declaration.iso10012_certificate_number",
        "declaration.instrument_count",
        "declaration.in_house_calibration",
    }


def test_the_public_sees_the_declaration_and_the_enterprises_public_details() -> None:
    uow = registry()
    commitment, _ = commit(uow)
    found = declarations.lookup_public_code(uow, f"  {commitment.public_code.lower()} ", today=TODAY)
    assert found.declaration == commitment and found.enterprise.uscc == USCC
    assert found.state == pb.COMMITMENT_STATE_ACTIVE
    assert declarations.lookup_public_code(uow, commitment.public_code, today=date(2024, 1, 1)).state == (
        pb.COMMITMENT_STATE_SCHEDULED
    )
    with pytest.raises(IntegrityError) as caught:
        declarations.lookup_public_code(uow, new_public_code("CMT"))
    assert caught.value.kind == ErrorKind.NOT_FOUND


@settings(max_examples=100)
@given(st.text(max_size=40))
def test_any_text_as_a_public_code_is_found_or_invalid_or_not_found(text: str) -> None:
    uow = registry()
    try:
        declarations.lookup_public_code(uow, text, today=TODAY)
    except IntegrityError as err:
        assert err.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.NOT_FOUND)


def test_repeated_request_ids_return_the_original_declaration_never_another_enterprises() -> None:
    uow = registry()
    request_id = "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"
    first, _ = declarations.create_commitment(uow, PARENT, PROMISE, ITSELF, request_id, today=TODAY)
    again, state = declarations.create_commitment(uow, PARENT, PROMISE, ITSELF, request_id, today=TODAY)
    assert again == first and state == pb.COMMITMENT_STATE_ACTIVE and len(uow.committed_commitments) == 1
    changed = CommitmentDraft((1,), "", "2025-03-01", "2025-12-31")
    err = error_of(uow, declarations.create_commitment, uow, PARENT, changed, ITSELF, request_id, today=TODAY)
    assert err.reason == "REQUEST_ID_REUSED"
    # Another enterprise that (maliciously) sends the same request id gets nothing of the first's.
    other = Principal("e", Role.ENTERPRISE, uscc=make_uscc(2))
    err = error_of(
        uow,
        declarations.create_commitment,
        uow,
        f"enterprises/{make_uscc(2)}",
        PROMISE,
        other,
        request_id,
        today=TODAY,
    )
    assert err.reason == "REQUEST_ID_REUSED" and first.public_code not in err.message

    declared = declarations.declare_capability(uow, PARENT, CAPABILITY, ITSELF, request_id)
    assert declarations.declare_capability(uow, PARENT, CAPABILITY, ITSELF, request_id) == declared
    assert len(uow.committed_capabilities) == 1
