"""The import use case against the in-memory unit of work: the registry an imported history leaves behind,
idempotency, and refusals in the words of the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from integrity.enterprises.v1 import enterprises_pb2 as pb
from integrity.events.v1 import events_pb2
from services.enterprises.adapters.mapping import draft_from_proto
from services.enterprises.domain.enterprise import validate_registration
from services.enterprises.use_cases.history import stage_history
from shared.errors import IntegrityError
from shared.events import Event
from shared.history_import import IMPORTED, PRESENT, ImportOutcome, Outcome
from tests.history_builder import SIGN_CODE, HistoryBuilder
from tests.unit.enterprises.fakes import FakeUnitOfWork

TODAY = date(2025, 3, 1)
TOPIC = "integrity.enterprises.v1.test"


def stage(uow: FakeUnitOfWork, events: list[Event]) -> list[ImportOutcome]:
    """One batch, committed, as the importer runs it."""
    with uow:
        outcomes = stage_history(uow, events, TOPIC, today=TODAY)
        uow.commit()
    return outcomes


def refusals(outcomes: list[ImportOutcome]) -> list[str]:
    return [o.message for o in outcomes if o.outcome is Outcome.REFUSED]


def lives(enterprises: int) -> HistoryBuilder:
    """Registrations, an instrument with its verification each, then `HistoryBuilder.changes`."""
    builder = HistoryBuilder(seed=7)
    for serial in range(enterprises):
        uscc = builder.enterprise(serial)
        builder.instrument(uscc, builder.start + timedelta(days=5))
        builder.changes(uscc, builder.start + timedelta(days=30))
    builder.events.sort(key=lambda e: (e.occurred_at.ToDatetime(), e.id))
    return builder


def test_an_imported_history_leaves_the_registry_as_the_api_would() -> None:
    builder = lives(3)
    uow = FakeUnitOfWork()

    outcomes = stage(uow, builder.events)

    assert outcomes == [IMPORTED] * len(builder.events)
    assert [event for _, event in uow.published] == builder.events
    assert {topic for topic, _ in uow.published} == {TOPIC}
    for uscc, last in builder.enterprises.items():
        enterprise = uow.committed[uscc]
        assert enterprise.display_name == last.display_name and enterprise.display_name.endswith("（更名）")
        assert enterprise.status == pb.ENTERPRISE_STATUS_SUSPENDED
    assert len(uow.committed_instruments) == 3 and len(uow.committed_verifications) == 3
    commitments = sorted(uow.committed_commitments.values(), key=lambda c: c.create_time)
    assert all(c.withdraw_time is not None for c in commitments)
    # The legacy code on the sign is kept where it is free; the others get codes of their own.
    codes = [c.public_code for c in commitments]
    assert codes.count(SIGN_CODE) == 1 and len(set(codes)) == 3
    assert len(uow.committed_capabilities) == 3


def test_a_verification_is_due_after_the_registered_instruments_cycle() -> None:
    builder = lives(1)
    uow = FakeUnitOfWork()
    stage(uow, builder.events)
    [(_, verification)] = uow.committed_verifications
    [instrument] = uow.committed_instruments.values()
    assert instrument.type == pb.INSTRUMENT_TYPE_FUEL_DISPENSER  # verified every six months
    assert verification.next_due_date.month == (verification.verification_date.month + 6 - 1) % 12 + 1


def test_importing_the_same_events_again_changes_nothing() -> None:
    builder = lives(2)
    uow = FakeUnitOfWork()
    stage(uow, builder.events)
    registry = (dict(uow.committed), dict(uow.committed_commitments), list(uow.committed_verifications))

    again = stage(uow, builder.events + builder.events[:3])  # a repeat within the batch is present too

    assert again == [PRESENT] * (len(builder.events) + 3)
    assert (uow.committed, uow.committed_commitments, uow.committed_verifications) == registry
    assert len(uow.published) == len(builder.events)


def test_an_invalid_registration_is_refused_in_the_words_of_the_api() -> None:
    builder = HistoryBuilder()
    uscc = builder.enterprise(1)
    [event] = builder.events
    event.enterprise_registered.enterprise.region_code = "990000"
    event.enterprise_registered.enterprise.status = 9
    with pytest.raises(IntegrityError) as api:
        validate_registration(draft_from_proto(event.enterprise_registered.enterprise), today=TODAY)
    uow = FakeUnitOfWork()

    [message] = refusals(stage(uow, [event]))

    status = "enterprise.status: 9 is not a known EnterpriseStatus value"
    assert message == f"EnterpriseRegistered: {api.value.message}; {status}"
    assert uow.committed == {} and uow.published == [] and uscc not in uow.committed


def test_what_needs_stored_state_is_refused_and_writes_nothing() -> None:
    builder = lives(1)
    uow = FakeUnitOfWork()
    registration, instrument, verification = builder.events[:3]
    assert instrument.HasField("instrument_registered") and verification.HasField("verification_recorded")

    missing = refusals(stage(uow, [instrument, verification]))

    assert missing == [
        f"InstrumentRegistered: enterprises/{instrument.subject} does not exist",
        f"VerificationRecorded: {verification.verification_recorded.instrument} does not exist",
    ]
    assert uow.committed_instruments == {} and uow.published == []
    stage(uow, [registration, instrument])
    again = _renamed(instrument)
    assert refusals(stage(uow, [again])) == [
        f"InstrumentRegistered: {instrument.instrument_registered.instrument.name} already exists"
    ]
    other = _renamed(instrument, "enterprises/{uscc}/instruments/aaaaaaaaaaaaaaaa")
    [duplicate] = refusals(stage(uow, [other]))
    assert "an instrument of this type and serial number is registered" in duplicate
    assert len(uow.committed_instruments) == 1


def _renamed(event: Event, name: str = "") -> Event:
    copy = Event()
    copy.CopyFrom(event)
    copy.id = f"{event.id[:-4]}beef"
    if name:
        copy.instrument_registered.instrument.name = name.format(uscc=event.subject)
    return copy


def test_a_deregistered_enterprise_registers_no_instrument_and_a_status_change_names_its_status() -> None:
    builder = HistoryBuilder()
    uscc = builder.enterprise(1)
    gone = pb.Enterprise()
    gone.CopyFrom(builder.enterprises[uscc])
    gone.status = pb.ENTERPRISE_STATUS_DEREGISTERED
    builder.emit(
        "enterprises",
        uscc,
        events_pb2.EnterpriseStatusChanged(enterprise=gone),
        builder.start + timedelta(days=1),
    )
    builder.instrument(uscc, builder.start + timedelta(days=2))
    unnamed = pb.Enterprise()
    unnamed.CopyFrom(builder.enterprises[uscc])
    builder.emit(
        "enterprises",
        uscc,
        events_pb2.EnterpriseStatusChanged(enterprise=unnamed),
        builder.start + timedelta(days=3),
    )
    uow = FakeUnitOfWork()

    outcomes = stage(uow, builder.events)

    assert [o.outcome for o in outcomes[:2]] == [Outcome.IMPORTED, Outcome.IMPORTED]
    assert refusals(outcomes) == [
        f"InstrumentRegistered: enterprises/{uscc} is deregistered; it cannot register instruments",
        f"VerificationRecorded: {builder.events[3].verification_recorded.instrument} does not exist",
        "EnterpriseStatusChanged: enterprise.status: is required, the status after the change",
    ]
    assert uow.committed[uscc].status == pb.ENTERPRISE_STATUS_DEREGISTERED


def test_an_update_older_than_the_registry_joins_the_history_only() -> None:
    builder = lives(1)
    uow = FakeUnitOfWork()
    stage(uow, builder.events)
    [uscc] = builder.enterprises
    before = uow.committed[uscc]
    late = pb.Enterprise()
    late.CopyFrom(builder.enterprises[uscc])
    late.display_name = "迟到的旧名"
    builder.emit(
        "enterprises", uscc, events_pb2.EnterpriseUpdated(enterprise=late), builder.start + timedelta(days=1)
    )

    assert stage(uow, builder.events[-1:]) == [IMPORTED]
    assert uow.committed[uscc] == before and uow.published[-1][1] == builder.events[-1]


def test_a_commitment_is_withdrawn_once() -> None:
    builder = lives(1)
    withdrawal = next(e for e in builder.events if e.HasField("commitment_withdrawn"))
    uow = FakeUnitOfWork()
    stage(uow, builder.events)
    name = withdrawal.commitment_withdrawn.commitment.name

    assert refusals(stage(uow, [_renamed(withdrawal)])) == [
        f"CommitmentWithdrawn: {name} was already withdrawn"
    ]
