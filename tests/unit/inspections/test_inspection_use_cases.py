"""Use cases against the in-memory unit of work: the local copy fed by the consumer's handler, plans and
their repeats, results and the lifecycle, overdue rectifications, and who may list inspectors where."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as P
from integrity.scoring.v1 import scoring_pb2
from services.inspections.domain.findings import Findings, InstrumentFinding
from services.inspections.domain.inspectors import QUALIFICATIONS
from services.inspections.domain.plans import validate_plan_request
from services.inspections.entrypoints.consumer import handle_event
from services.inspections.manifest import TOPIC
from services.inspections.use_cases.inspections import complete_inspection, flag_overdue_rectifications
from services.inspections.use_cases.inspectors import create_inspector, list_inspectors
from services.inspections.use_cases.plans import create_plan
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import InvalidEvent, new_event
from tests.helpers import enterprise_registered, valid_uscc
from tests.unit.inspections.fakes import FakeUnitOfWork

REGULATOR = Principal("regulator@610100", Role.REGULATOR, region="610100")
SYSTEM = Principal("registry", Role.SYSTEM)
ALL = sorted(QUALIFICATIONS)


def feed(uow: FakeUnitOfWork, event: events_pb2.Event) -> None:
    with uow:
        handle_event(uow, event, "t")
        uow.commit()


def populate(
    uow: FakeUnitOfWork, enterprises: int, inspectors: int, level: int = scoring_pb2.GRADE_LEVEL_D
) -> list[str]:
    usccs = [valid_uscc(i) for i in range(enterprises)]
    for uscc in usccs:
        feed(uow, enterprise_registered(uscc))
        grade = events_pb2.GradeChanged(grade=scoring_pb2.Grade(level=level), region_code="610100")  # type: ignore[arg-type]
        feed(uow, new_event("//integrity/scoring", uscc, grade))
    for i in range(inspectors):
        create_inspector(uow, f"XA{i:03d}", f"Officer {i}", "610100", ALL, REGULATOR)
    return usccs


def inspector(inspector_id: str) -> Principal:
    return Principal(f"inspectors/{inspector_id}", Role.INSPECTOR, region="610100")


def test_the_consumer_keeps_the_local_copy_and_a_substantiated_complaint_triggers_a_plan() -> None:
    uow = FakeUnitOfWork()
    usccs = populate(uow, enterprises=2, inspectors=2, level=scoring_pb2.GRADE_LEVEL_A)
    copy = uow.committed_enterprises[usccs[0]]
    assert (copy.region_code, copy.grade_level, copy.trigger) == ("610100", scoring_pb2.GRADE_LEVEL_A, "")
    for resolved in (
        events_pb2.ComplaintResolved(complaint="complaints/a", substantiated=False),
        events_pb2.ComplaintResolved(
            complaint="complaints/b", substantiated=True, duplicate_of="complaints/a"
        ),
        events_pb2.ComplaintResolved(complaint="complaints/c", substantiated=True),
    ):
        feed(uow, new_event("//integrity/complaints", usccs[1], resolved))
    assert uow.committed_enterprises[usccs[1]].trigger == "COMPLAINT"
    with pytest.raises(InvalidEvent), uow:
        handle_event(uow, enterprise_registered("91610100MA0000001X"), "t")

    plan = create_plan(uow, validate_plan_request("610100", 0, [], 11), "", REGULATOR)
    assert [(i.uscc, i.trigger) for i in plan.inspections] == [(usccs[1], "COMPLAINT")]
    assert uow.committed_enterprises[usccs[1]].trigger == ""  # drawn once, then cleared


def test_a_plan_stages_its_events_and_a_repeated_request_id_returns_it() -> None:
    uow = FakeUnitOfWork()
    usccs = populate(uow, enterprises=3, inspectors=2)
    request_id = str(uuid.uuid4())
    first = create_plan(uow, validate_plan_request("610100", 0, [], 7), request_id, REGULATOR)
    assert sorted(i.uscc for i in first.inspections) == sorted(usccs)
    assert all(len(i.inspectors) == 2 and i.state == P.INSPECTION_STATE_PLANNED for i in first.inspections)
    assert [(topic, kind) for (topic, _), kind in zip(uow.published, uow.event_types(), strict=True)] == [
        (TOPIC, "inspection_planned")
    ] * 3

    again = create_plan(uow, validate_plan_request("610100", 0, [], 7), request_id.upper(), REGULATOR)
    assert again == first and uow.committed_events == 3
    other = validate_plan_request("610100", 0, [(scoring_pb2.GRADE_LEVEL_D, 0.5)], 7)
    with pytest.raises(IntegrityError) as caught:
        create_plan(uow, other, request_id, REGULATOR)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    with pytest.raises(IntegrityError) as caught:
        create_plan(uow, other, "not-a-uuid", REGULATOR)
    assert [v.field for v in caught.value.field_violations] == ["request_id"]
    assert len(uow.committed_plans) == 1


def test_a_result_follows_the_rules_and_the_lifecycle() -> None:
    uow = FakeUnitOfWork()
    populate(uow, enterprises=1, inspectors=2)
    inspection = create_plan(uow, validate_plan_request("610100", 0, [], 3), "", REGULATOR).inspections[0]
    tampered = Findings(instruments=(InstrumentFinding("SN1", P.VERIFICATION_STATUS_VALID, True),))
    deadline = datetime.now(UTC) + timedelta(days=30)

    def complete(outcome: int, who: Principal, **changes: object) -> object:
        arguments: dict[str, object] = {
            "outcome": outcome,
            "findings": tampered,
            "penalty_reference": "西市监罚〔2026〕12号",
            "rectification_deadline": deadline,
            "principal": who,
            "publication_working_days": 0,
        }
        arguments.update(changes)
        return complete_inspection(uow, inspection.name, **arguments)  # type: ignore[arg-type]

    with pytest.raises(IntegrityError) as caught:
        complete(P.INSPECTION_OUTCOME_SERIOUS_VIOLATION, REGULATOR)
    assert caught.value.reason == "NOT_ASSIGNED"
    with pytest.raises(IntegrityError) as caught:
        complete(
            P.INSPECTION_OUTCOME_MINOR_VIOLATION, inspector(inspection.lead), rectification_deadline=None
        )
    assert {(v.field, v.description) for v in caught.value.field_violations} == {
        ("outcome", "must be SERIOUS_VIOLATION: tampering, a false declaration or a refusal is serious"),
        ("rectification_deadline", "is required when a violation was found"),
    }
    with pytest.raises(IntegrityError) as caught:  # 9999-12-31 is a typing error, not a decision
        complete(
            P.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
            inspector(inspection.lead),
            rectification_deadline=datetime(9999, 12, 31, tzinfo=UTC),
        )
    assert [(v.field, v.description) for v in caught.value.field_violations] == [
        ("rectification_deadline", "must be at most 365 days after the inspection")
    ]
    assert uow.inspection(inspection.id).state == P.INSPECTION_STATE_PLANNED and len(uow.published) == 1

    done = complete(P.INSPECTION_OUTCOME_SERIOUS_VIOLATION, inspector(inspection.inspectors[1]))
    assert uow.inspection(inspection.id) == done and uow.event_types()[-1] == "inspection_completed"
    summary = uow.published[-1][1].inspection_completed.summary
    assert summary.tampering_found and summary.instruments_checked == 1
    with pytest.raises(IntegrityError) as caught:
        complete(P.INSPECTION_OUTCOME_SERIOUS_VIOLATION, inspector(inspection.lead))
    assert caught.value.reason == "INVALID_STATE_TRANSITION"
    assert caught.value.metadata["allowed_states"] == "RECTIFICATION_OVERDUE,RECTIFIED"

    assert flag_overdue_rectifications(uow, deadline + timedelta(seconds=1)) == 1
    assert flag_overdue_rectifications(uow, deadline + timedelta(days=1)) == 0
    assert uow.inspection(inspection.id).state == P.INSPECTION_STATE_RECTIFICATION_OVERDUE
    overdue = uow.published[-1][1]
    assert overdue.rectification_overdue.inspection == inspection.name
    assert overdue.occurred_at.ToDatetime(tzinfo=UTC) == deadline
    assert uow.committed_enterprises[inspection.uscc].trigger == "RECTIFICATION_OVERDUE"


def test_inspectors_are_listed_in_the_callers_region() -> None:
    uow = FakeUnitOfWork()
    for i, region in enumerate(("610112", "610113", "610302")):
        create_inspector(uow, f"X{i}", f"Officer {i}", region, ALL, SYSTEM)
    assert [i.id for i in list_inspectors(uow, REGULATOR, "", 0, "").items] == ["X0", "X1"]
    assert [i.id for i in list_inspectors(uow, REGULATOR, "610113", 0, "").items] == ["X1"]
    assert [i.id for i in list_inspectors(uow, SYSTEM, "", 0, "").items] == ["X0", "X1", "X2"]
    with pytest.raises(IntegrityError) as caught:
        list_inspectors(uow, REGULATOR, "610302", 0, "")
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.PERMISSION_DENIED, "OUTSIDE_REGION")
    with pytest.raises(IntegrityError) as caught:
        create_inspector(uow, "X9", "Elsewhere", "610302", ALL, REGULATOR)
    assert caught.value.reason == "OUTSIDE_REGION" and "X9" not in uow.committed_inspectors
