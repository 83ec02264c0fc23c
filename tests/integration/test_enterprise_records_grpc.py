"""Instruments and self-declarations over a real socket and database, with a clock the test moves.

Kafka is a dead port: every RPC must succeed while the broker is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import grpc
import pytest
from sqlmodel import Session, select

from integrity.enterprises.v1 import enterprises_pb2 as pb
from integrity.enterprises.v1 import enterprises_pb2_grpc
from services.enterprises.adapters.tables import (
    CapabilityDeclarationRow,
    CommitmentRow,
    InstrumentRow,
    VerificationRow,
)
from services.enterprises.bootstrap import build_app
from shared.db import make_engine
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import serving
from tests.integration.test_enterprises_grpc import DEAD_BROKER, Registry, enterprise, status_of

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


@pytest.fixture
def clock() -> Clock:
    return Clock(date(2025, 3, 1))


@pytest.fixture
def registry(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Registry]:
    settings = Settings(
        var_dir=tmp_path / "var", enterprises_database_url=database_url, kafka_bootstrap_servers=DEAD_BROKER
    )
    engine = make_engine(database_url)
    try:
        with serving(build_app(settings, today=clock)) as channel:
            yield Registry(enterprises_pb2_grpc.EnterpriseServiceStub(channel), settings, engine)
    finally:
        engine.dispose()


def add_instrument(registry: Registry, parent: str, serial: str, **claims: str) -> pb.Instrument:
    metadata = registry.auth("enterprise", **claims) if claims else registry.system
    request = pb.CreateInstrumentRequest(
        parent=parent, instrument=pb.Instrument(type=pb.INSTRUMENT_TYPE_FUEL_DISPENSER, serial_number=serial)
    )
    return registry.stub.CreateInstrument(request, metadata=metadata, timeout=10).instrument


def statuses(registry: Registry, parent: str) -> list[int]:
    request = pb.ListInstrumentsRequest(parent=parent)
    response = registry.stub.ListInstruments(request, metadata=registry.system, timeout=10)
    return [i.verification_status for i in response.instruments]


def test_a_verified_instrument_turns_overdue_as_the_clock_moves_and_nothing_is_written(
    registry: Registry, clock: Clock
) -> None:
    company = registry.create(enterprise())
    instrument = add_instrument(registry, company.name, "JYJ-0001", uscc=company.uscc)
    assert instrument.verification_status == pb.VERIFICATION_STATUS_UNVERIFIED
    verification = pb.Verification(
        verification_date="2025-02-01", result=pb.VERIFICATION_RESULT_PASS, certificate_number="JD-7"
    )
    recorded = registry.stub.RecordVerification(
        pb.RecordVerificationRequest(instrument=instrument.name, verification=verification),
        metadata=registry.system,
        timeout=10,
    ).instrument
    assert recorded.last_verification.next_due_date == "2025-08-01"
    assert recorded.verification_status == pb.VERIFICATION_STATUS_VALID
    events = registry.count(OutboxRecord)

    clock.today = date(2025, 7, 15)
    assert statuses(registry, company.name) == [pb.VERIFICATION_STATUS_DUE_SOON]
    clock.today = date(2025, 8, 2)
    assert statuses(registry, company.name) == [pb.VERIFICATION_STATUS_OVERDUE]
    assert registry.count(OutboxRecord) == events and registry.count(VerificationRow) == 1


def test_a_batch_is_all_or_nothing_and_an_enterprise_cannot_add_to_another(registry: Registry) -> None:
    mine, theirs = registry.create(enterprise(1)), registry.create(enterprise(2))
    first = add_instrument(registry, mine.name, "A-1")
    second = add_instrument(registry, mine.name, "A-2")
    with pytest.raises(grpc.RpcError) as caught:
        add_instrument(registry, theirs.name, "B-1", uscc=mine.uscc)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as caught:
        add_instrument(registry, mine.name, "A-1")
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS  # type: ignore[attr-defined]
    assert registry.count(InstrumentRow) == 2

    def entry(name: str, day: str) -> pb.RecordVerificationRequest:
        verification = pb.Verification(
            verification_date=day, result=pb.VERIFICATION_RESULT_PASS, certificate_number="JD-1"
        )
        return pb.RecordVerificationRequest(instrument=name, verification=verification)

    events = registry.count(OutboxRecord)
    bad = pb.BatchRecordVerificationsRequest(
        requests=[entry(first.name, "2025-02-01"), entry(second.name, "2031-01-01")]
    )
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.BatchRecordVerifications(bad, metadata=registry.system, timeout=10)
    code, violations = status_of(caught.value)  # type: ignore[arg-type]
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in violations] == ["requests[1].verification.verification_date"]
    assert registry.count(VerificationRow) == 0 and registry.count(OutboxRecord) == events

    good = pb.BatchRecordVerificationsRequest(
        requests=[entry(first.name, "2025-02-01"), entry(second.name, "2025-01-01")]
    )
    done = registry.stub.BatchRecordVerifications(good, metadata=registry.system, timeout=10).instruments
    assert [i.name for i in done] == [first.name, second.name]
    assert registry.count(VerificationRow) == 2 and registry.count(OutboxRecord) == events + 2
    with Session(registry.engine) as session:
        keys = session.exec(
            select(OutboxRecord.key).where(OutboxRecord.event_type.endswith("VerificationRecorded"))
        ).all()  # type: ignore[attr-defined]
    assert keys == [mine.uscc, mine.uscc]


def test_instruments_list_in_pages_and_only_the_system_records_verifications(registry: Registry) -> None:
    company = registry.create(enterprise())
    names = {add_instrument(registry, company.name, f"S-{n}").name for n in range(7)}
    seen, token = [], ""
    as_company = registry.auth("enterprise", uscc=company.uscc)
    while True:
        request = pb.ListInstrumentsRequest(parent=company.name, page_size=3, page_token=token)
        response = registry.stub.ListInstruments(request, metadata=as_company, timeout=10)
        seen += [i.name for i in response.instruments]
        token = response.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(names) and len(seen) == len(names)
    request = pb.RecordVerificationRequest(instrument=seen[0])
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.RecordVerification(request, metadata=as_company, timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]


# --- self-declarations and the public look-up --------------------------------------------------------


def test_an_enterprise_commits_for_itself_only_and_anyone_can_look_the_code_up(registry: Registry) -> None:
    mine, theirs = registry.create(enterprise(1)), registry.create(enterprise(2))
    as_mine = registry.auth("enterprise", uscc=mine.uscc)
    promise = pb.Commitment(
        items=[pb.COMMITMENT_ITEM_VERIFIED_INSTRUMENTS, pb.COMMITMENT_ITEM_NO_CHEATING_DEVICES],
        free_text="缺一赔十",
        valid_from="2025-03-01",
        valid_until="2026-02-28",
    )
    events = registry.count(OutboxRecord)
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.CreateCommitment(
            pb.CreateCommitmentRequest(parent=theirs.name, commitment=promise), metadata=as_mine, timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert registry.count(CommitmentRow) == 0 and registry.count(OutboxRecord) == events

    commitment = registry.stub.CreateCommitment(
        pb.CreateCommitmentRequest(parent=mine.name, commitment=promise), metadata=as_mine, timeout=10
    ).commitment
    assert commitment.state == pb.COMMITMENT_STATE_ACTIVE and commitment.public_code.startswith("CMT-")

    # No token at all: the public sees the commitment and the enterprise's public details only.
    found = registry.stub.LookupPublicCode(
        pb.LookupPublicCodeRequest(public_code=commitment.public_code), timeout=10
    )
    assert found.commitment == commitment
    assert found.enterprise == pb.PublicEnterprise(
        uscc=mine.uscc,
        display_name=mine.display_name,
        region_code=mine.region_code,
        industry_code=mine.industry_code,
        subject_type=mine.subject_type,
    )

    withdrawn = registry.stub.WithdrawCommitment(
        pb.WithdrawCommitmentRequest(name=commitment.name), metadata=as_mine, timeout=10
    ).commitment
    assert withdrawn.state == pb.COMMITMENT_STATE_WITHDRAWN
    found = registry.stub.LookupPublicCode(
        pb.LookupPublicCodeRequest(public_code=commitment.public_code), timeout=10
    )
    assert found.commitment.state == pb.COMMITMENT_STATE_WITHDRAWN
    assert registry.count(OutboxRecord) == events + 2


def test_a_capability_declaration_is_public_and_bad_codes_get_clear_statuses(registry: Registry) -> None:
    mine = registry.create(enterprise(1))
    declaration = pb.CapabilityDeclaration(
        has_management_system=True, instrument_count=12, metrology_staff_count=1, in_house_calibration=True
    )
    declared = registry.stub.DeclareCapability(
        pb.DeclareCapabilityRequest(parent=mine.name, declaration=declaration),
        metadata=registry.auth("enterprise", uscc=mine.uscc),
        timeout=10,
    ).declaration
    found = registry.stub.LookupPublicCode(
        pb.LookupPublicCodeRequest(public_code=declared.public_code), timeout=10
    )
    assert (
        found.WhichOneof("declaration") == "capability_declaration"
        and found.capability_declaration == declared
    )
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.DeclareCapability(
            pb.DeclareCapabilityRequest(parent=mine.name, declaration=declaration),
            metadata=registry.system,
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    for code, expected in (
        ("CMT-2222222222", grpc.StatusCode.NOT_FOUND),
        ("'; drop", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            registry.stub.LookupPublicCode(pb.LookupPublicCodeRequest(public_code=code), timeout=10)
        assert caught.value.code() == expected  # type: ignore[attr-defined]
    assert registry.count(CapabilityDeclarationRow) == 1


def test_creates_repeated_with_a_request_id_return_the_original(registry: Registry) -> None:
    company = registry.create(enterprise())
    as_company = registry.auth("enterprise", uscc=company.uscc)
    request_id = "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"
    instrument = pb.CreateInstrumentRequest(
        parent=company.name,
        instrument=pb.Instrument(type=pb.INSTRUMENT_TYPE_TAXI_METER, serial_number="TX-1"),
        request_id=request_id,
    )
    commitment = pb.CreateCommitmentRequest(
        parent=company.name,
        commitment=pb.Commitment(items=[1], valid_from="2025-03-01", valid_until="2025-12-31"),
        request_id=request_id,
    )
    declaration = pb.DeclareCapabilityRequest(
        parent=company.name, declaration=pb.CapabilityDeclaration(instrument_count=3), request_id=request_id
    )
    for call, request in (
        (registry.stub.CreateInstrument, instrument),
        (registry.stub.CreateCommitment, commitment),
        (registry.stub.DeclareCapability, declaration),
    ):
        first = call(request, metadata=as_company, timeout=10)
        events = registry.count(OutboxRecord)
        assert call(request, metadata=as_company, timeout=10) == first
        assert registry.count(OutboxRecord) == events
    assert (
        registry.count(InstrumentRow),
        registry.count(CommitmentRow),
        registry.count(CapabilityDeclarationRow),
    ) == (
        1,
        1,
        1,
    )


def test_an_enterprise_lists_its_own_declarations_in_pages_and_no_other_enterprise_can(
    registry: Registry,
) -> None:
    mine, theirs = registry.create(enterprise(1)), registry.create(enterprise(2))
    as_mine = registry.auth("enterprise", uscc=mine.uscc)
    codes = []
    for text in ("一", "二", "三"):
        promise = pb.Commitment(
            items=[pb.COMMITMENT_ITEM_ACCURATE_MEASUREMENT],
            free_text=text,
            valid_from="2025-03-01",
            valid_until="2026-02-28",
        )
        request = pb.CreateCommitmentRequest(parent=mine.name, commitment=promise)
        codes.append(registry.stub.CreateCommitment(request, metadata=as_mine, timeout=10).commitment.name)
    registry.stub.WithdrawCommitment(
        pb.WithdrawCommitmentRequest(name=codes[0]), metadata=as_mine, timeout=10
    )
    declaration = pb.CapabilityDeclaration(has_management_system=True, instrument_count=3)
    registry.stub.DeclareCapability(
        pb.DeclareCapabilityRequest(parent=mine.name, declaration=declaration), metadata=as_mine, timeout=10
    )

    first = registry.stub.ListCommitments(
        pb.ListCommitmentsRequest(parent=mine.name, page_size=2), metadata=as_mine, timeout=10
    )
    rest = registry.stub.ListCommitments(
        pb.ListCommitmentsRequest(parent=mine.name, page_size=2, page_token=first.next_page_token),
        metadata=as_mine,
        timeout=10,
    )
    listed = [*first.commitments, *rest.commitments]
    assert [c.name for c in listed] == codes[::-1] and rest.next_page_token == ""
    assert listed[-1].state == pb.COMMITMENT_STATE_WITHDRAWN
    # A regulator of the region reads them too (registry.system stands for the other systems).
    declared = registry.stub.ListCapabilityDeclarations(
        pb.ListCapabilityDeclarationsRequest(parent=mine.name), metadata=registry.system, timeout=10
    ).declarations
    assert [d.instrument_count for d in declared] == [3]

    as_theirs = registry.auth("enterprise", uscc=theirs.uscc)
    for call, request in (
        (registry.stub.ListCommitments, pb.ListCommitmentsRequest(parent=mine.name)),
        (registry.stub.ListCapabilityDeclarations, pb.ListCapabilityDeclarationsRequest(parent=mine.name)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call(request, metadata=as_theirs, timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.ListCommitments(
            pb.ListCommitmentsRequest(parent=mine.name, page_token="garbage"), metadata=as_mine, timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
