"""Inspections use cases over a real SQLite file: roster, plans and `plan verify`, results, overdue
rectifications, publication. The local copy is fed through the consumer's handler, as from Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as P
from integrity.scoring.v1 import scoring_pb2
from operations import cli
from services.inspections.adapters.tables import EnterpriseCopyRow, InspectionRow
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.domain.inspections import (
    PLANNED,
    RECTIFIED,
    RECTIFYING,
    Findings,
    Inspection,
    InstrumentFinding,
)
from services.inspections.domain.inspectors import QUALIFICATIONS
from services.inspections.domain.plans import PlanRequest, validate_plan_request
from services.inspections.domain.publication import publication_date
from services.inspections.entrypoints.consumer import handle_event
from services.inspections.manifest import SERVICE
from services.inspections.use_cases.inspections import (
    complete_inspection,
    complete_rectification,
    flag_overdue_rectifications,
    list_published,
)
from services.inspections.use_cases.inspectors import create_inspector, list_inspectors, update_inspector
from services.inspections.use_cases.plans import create_plan, verify_plan
from shared.auth import Principal, Role
from shared.db import make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import decode, new_event
from shared.migrations import upgrade
from shared.outbox import OutboxRecord
from shared.workdays import PRC
from tests.helpers import enterprise_registered, valid_uscc

REGULATOR = Principal("regulator@610100", Role.REGULATOR, region="610100")
SYSTEM = Principal("registry", Role.SYSTEM)
ALL = sorted(QUALIFICATIONS)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'inspections.db').as_posix()}"


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = make_engine(db_url)
    upgrade(engine, SERVICE)  # through the migrations: the verify command checks the revision
    return engine


@pytest.fixture
def uow(engine: Engine) -> Callable[[], InspectionsUnitOfWork]:
    return partial(InspectionsUnitOfWork, engine)


def feed(engine: Engine, event: events_pb2.Event, topic: str = "t") -> None:
    with InspectionsUnitOfWork(engine) as uow:
        handle_event(uow, event, topic)
        uow.commit()


def grade(engine: Engine, uscc: str, level: int) -> None:
    payload = events_pb2.GradeChanged(grade=scoring_pb2.Grade(level=level), region_code="610100")  # type: ignore[arg-type]
    feed(engine, new_event("//integrity/scoring", uscc, payload))


def populate(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork], enterprises: int, inspectors: int
) -> list[str]:
    usccs = [valid_uscc(i) for i in range(enterprises)]
    for uscc in usccs:
        feed(engine, enterprise_registered(uscc))
        grade(engine, uscc, scoring_pb2.GRADE_LEVEL_D)
    for i in range(inspectors):
        create_inspector(uow(), f"XA{i:03d}", f"Officer {i}", "610100", ALL, REGULATOR)
    return usccs


def plan_request(seed: int = 11) -> PlanRequest:
    return validate_plan_request("610100", 0, [], seed)


def inspector(inspector_id: str) -> Principal:
    return Principal(f"inspectors/{inspector_id}", Role.INSPECTOR, region="610100")


def outbox(engine: Engine) -> list[events_pb2.Event]:
    with Session(engine) as session:
        return [decode(row.value) for row in session.exec(select(OutboxRecord).order_by(OutboxRecord.id))]


def test_inspectors_are_region_scoped_and_paginated(uow: Callable[[], InspectionsUnitOfWork]) -> None:
    for i in range(5):
        create_inspector(uow(), f"XA{i}", f"Officer {i}", "610112", ALL, REGULATOR)
    with pytest.raises(IntegrityError) as caught:
        create_inspector(uow(), "XA0", "Again", "610112", ALL, REGULATOR)
    assert caught.value.kind == ErrorKind.ALREADY_EXISTS
    with pytest.raises(IntegrityError) as caught:
        create_inspector(uow(), "BJ1", "Elsewhere", "110105", ALL, REGULATOR)
    assert caught.value.kind == ErrorKind.PERMISSION_DENIED
    with pytest.raises(IntegrityError) as caught:
        create_inspector(uow(), "", "", "6101", [], REGULATOR)
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    first = list_inspectors(uow(), REGULATOR, "", 3, "")
    second = list_inspectors(uow(), REGULATOR, "", 3, first.next_page_token)
    assert [i.id for i in first.items + second.items] == [f"XA{i}" for i in range(5)]
    assert second.next_page_token == ""
    with pytest.raises(IntegrityError):
        list_inspectors(uow(), REGULATOR, "110105", 3, "")


def test_a_plan_draws_every_d_enterprise_with_two_inspectors_and_verifies(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    usccs = populate(engine, uow, enterprises=6, inspectors=4)
    view = create_plan(uow(), plan_request(), str(uuid.uuid4()), REGULATOR)
    assert sorted(i.uscc for i in view.inspections) == sorted(usccs)
    assert all(len(i.inspectors) == 2 for i in view.inspections)
    assert view.plan.seed == 11
    planned = [e for e in outbox(engine) if e.WhichOneof("payload") == "inspection_planned"]
    assert len(planned) == 6
    assert verify_plan(uow(), view.plan.name).matches
    assert cli.main(["plan", "verify", view.plan.name, "--database-url", db_url]) == 0

    # Tamper: swap the team of one inspection.
    target = view.inspections[0]
    with Session(engine) as session:
        session.execute(
            update(InspectionRow)
            .where(InspectionRow.id == target.id)  # type: ignore[arg-type]
            .values(inspectors=",".join(reversed(target.inspectors)))
        )
        session.commit()
    result = verify_plan(uow(), view.plan.name)
    assert not result.matches and target.uscc in result.differences[0]
    capsys.readouterr()
    assert cli.main(["plan", "verify", view.plan.name, "--database-url", db_url]) == 1
    assert "does NOT match" in capsys.readouterr().err


def test_the_same_request_id_returns_the_same_plan(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=3, inspectors=2)
    request_id = str(uuid.uuid4())
    first = create_plan(uow(), plan_request(), request_id, REGULATOR)
    again = create_plan(uow(), plan_request(), request_id, REGULATOR)
    assert again.plan.id == first.plan.id and [i.id for i in again.inspections] == [
        i.id for i in first.inspections
    ]


def test_the_next_plan_changes_the_lead_of_every_enterprise(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=5, inspectors=2)
    first = {i.uscc: i.lead for i in create_plan(uow(), plan_request(1), "", REGULATOR).inspections}
    second = {i.uscc: i.lead for i in create_plan(uow(), plan_request(2), "", REGULATOR).inspections}
    assert all(first[uscc] != second[uscc] for uscc in first)


def test_not_enough_inspectors_is_a_clear_failed_precondition(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=2, inspectors=1)
    with pytest.raises(IntegrityError) as caught:
        create_plan(uow(), plan_request(), "", REGULATOR)
    assert caught.value.kind == ErrorKind.FAILED_PRECONDITION
    assert "needs 2 inspectors" in caught.value.message


def test_a_substantiated_complaint_triggers_a_grade_a_enterprise_once(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    usccs = populate(engine, uow, enterprises=2, inspectors=2)
    for uscc in usccs:
        grade(engine, uscc, scoring_pb2.GRADE_LEVEL_A)
    resolved = events_pb2.ComplaintResolved(complaint="complaints/x", substantiated=True, severity=2)  # type: ignore[arg-type]
    feed(engine, new_event("//integrity/complaints", usccs[1], resolved))
    first = create_plan(uow(), plan_request(), "", REGULATOR)
    assert [(i.uscc, i.trigger) for i in first.inspections] == [(usccs[1], "COMPLAINT")]
    assert create_plan(uow(), plan_request(), "", REGULATOR).inspections == []


def complete(
    uow: Callable[[], InspectionsUnitOfWork], name: str, who: Principal, **kwargs: object
) -> Inspection:
    arguments: dict[str, object] = {
        "outcome": P.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
        "findings": Findings(instruments=(InstrumentFinding("SN1", P.VERIFICATION_STATUS_VALID, True),)),
        "penalty_reference": "西市监罚〔2026〕12号",
        "rectification_deadline": datetime.now(UTC) + timedelta(days=30),
        "principal": who,
        "publication_working_days": 0,
    }
    arguments.update(kwargs)
    return complete_inspection(uow(), name, **arguments)  # type: ignore[arg-type]


def test_only_an_assigned_inspector_completes_and_the_event_follows_the_contract(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=1, inspectors=3)
    inspection = create_plan(uow(), plan_request(), "", REGULATOR).inspections[0]
    outsider = next(f"XA{i:03d}" for i in range(3) if f"XA{i:03d}" not in inspection.inspectors)
    before = len(outbox(engine))
    for who in (inspector(outsider), REGULATOR):
        with pytest.raises(IntegrityError) as caught:
            complete(uow, inspection.name, who)
        assert caught.value.kind == ErrorKind.PERMISSION_DENIED
    assert len(outbox(engine)) == before
    with uow() as unit:
        assert unit.inspections.get(inspection.id).state == PLANNED  # type: ignore[union-attr]

    with pytest.raises(IntegrityError) as caught:  # tampering is serious, not minor
        complete(
            uow, inspection.name, inspector(inspection.lead), outcome=P.INSPECTION_OUTCOME_MINOR_VIOLATION
        )
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    done = complete(uow, inspection.name, inspector(inspection.inspectors[1]))
    assert done.state == RECTIFYING
    event = outbox(engine)[-1]
    assert event.WhichOneof("payload") == "inspection_completed" and event.subject == inspection.uscc
    completed = event.inspection_completed
    assert completed.outcome == P.INSPECTION_OUTCOME_SERIOUS_VIOLATION
    assert completed.summary.tampering_found and completed.summary.instruments_checked == 1
    assert completed.penalty_reference and completed.HasField("rectification_deadline")
    with pytest.raises(IntegrityError) as caught:
        complete(uow, inspection.name, inspector(inspection.lead))
    assert caught.value.kind == ErrorKind.FAILED_PRECONDITION

    rectified = complete_rectification(uow(), inspection.name, inspector(inspection.lead))
    assert rectified.state == RECTIFIED
    assert outbox(engine)[-1].WhichOneof("payload") == "rectification_completed"


def test_an_overdue_rectification_is_flagged_once_and_triggers_the_next_plan(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    usccs = populate(engine, uow, enterprises=1, inspectors=2)
    inspection = create_plan(uow(), plan_request(), "", REGULATOR).inspections[0]
    complete(uow, inspection.name, inspector(inspection.lead))
    later = datetime.now(UTC) + timedelta(days=31)
    assert flag_overdue_rectifications(uow(), later) == 1
    assert flag_overdue_rectifications(uow(), later) == 0
    overdue = [e for e in outbox(engine) if e.WhichOneof("payload") == "rectification_overdue"]
    assert len(overdue) == 1 and overdue[0].rectification_overdue.inspection == inspection.name
    grade(engine, usccs[0], scoring_pb2.GRADE_LEVEL_A)
    again = create_plan(uow(), plan_request(), "", REGULATOR).inspections
    assert [(i.uscc, i.trigger) for i in again] == [(usccs[0], "RECTIFICATION_OVERDUE")]


def test_results_are_published_after_the_working_days_without_personal_data(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=1, inspectors=2)
    inspection = create_plan(uow(), plan_request(), "", REGULATOR).inspections[0]
    assert list_published(uow(), "", 10, "").items == []
    done = complete(uow, inspection.name, inspector(inspection.lead), publication_working_days=5)
    assert done.publish_date is not None and PRC.is_working_day(done.publish_date)
    assert list_published(uow(), "", 10, "", today=done.publish_date - timedelta(days=1)).items == []
    page = list_published(uow(), "610100", 10, "", today=done.publish_date)
    assert [r.inspection.uscc for r in page.items] == [inspection.uscc]
    assert page.items[0].enterprise_name == "西安市某某加油站有限公司"


def test_publication_counts_working_days_from_the_china_date() -> None:
    # 23:30 UTC on Sunday 27 September 2026 is already Monday 28 September in China.
    completed = datetime(2026, 9, 27, 23, 30, tzinfo=UTC)
    # 29, 30 September, 8, 9, 10 (a working Saturday), 12, 13 October: National Day (1-7 October) and
    # Sunday 11 October are skipped.
    assert publication_date(completed, 7, PRC) == date(2026, 10, 13)
    assert publication_date(completed, 0, PRC) == date(2026, 9, 28)


def test_the_local_copy_ignores_unsubstantiated_and_duplicate_complaints(engine: Engine) -> None:
    uscc = valid_uscc(1)
    feed(engine, enterprise_registered(uscc))
    for resolved in (
        events_pb2.ComplaintResolved(complaint="complaints/a", substantiated=False),
        events_pb2.ComplaintResolved(
            complaint="complaints/b", substantiated=True, duplicate_of="complaints/a"
        ),
    ):
        feed(engine, new_event("//integrity/complaints", uscc, resolved))
    with Session(engine) as session:
        assert session.get(EnterpriseCopyRow, uscc).trigger == ""  # type: ignore[union-attr]


def test_a_request_id_reused_for_another_plan_is_refused(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=2, inspectors=2)
    request_id = str(uuid.uuid4())
    create_plan(uow(), plan_request(), request_id, REGULATOR)
    other = validate_plan_request("610100", 0, [(scoring_pb2.GRADE_LEVEL_D, 0.5)], 11)
    with pytest.raises(IntegrityError) as caught:
        create_plan(uow(), other, request_id, REGULATOR)
    assert caught.value.kind == ErrorKind.ALREADY_EXISTS and caught.value.reason == "REQUEST_ID_REUSED"


def test_unavailable_inspectors_are_not_drawn(
    engine: Engine, uow: Callable[[], InspectionsUnitOfWork]
) -> None:
    populate(engine, uow, enterprises=4, inspectors=3)
    changed = update_inspector(
        uow(),
        "inspectors/XA001",
        ["available"],
        available=False,
        qualifications=[],
        display_name="",
        principal=REGULATOR,
    )
    assert not changed.available and changed.qualifications == frozenset(ALL)
    drawn = create_plan(uow(), plan_request(), "", REGULATOR).inspections
    assert len(drawn) == 4 and all("XA001" not in i.inspectors for i in drawn)
    with pytest.raises(IntegrityError) as caught:
        update_inspector(
            uow(),
            "inspectors/XA002",
            ["region_code"],
            available=True,
            qualifications=[],
            display_name="",
            principal=REGULATOR,
        )
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
