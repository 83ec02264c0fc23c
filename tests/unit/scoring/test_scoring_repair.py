"""Credit repair through ScoringServicer.CreateCreditRepair (called directly), on a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from integrity.scoring.v1 import scoring_pb2
from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, CreditRepairRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared.auth import Principal, Role, acting_as
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import Event, decode, utcnow
from shared.outbox import OutboxRecord
from tests.unit.scoring.fakes import Outcome, inspection, registration, serious_violation_at_d, uscc

POLICY = serious_violation_at_d(load_policy())
XIAN_REGULATOR = Principal("wang.li", Role.REGULATOR, region="610100")
BAOJI_REGULATOR = Principal("zhao.min", Role.REGULATOR, region="610300")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    create_tables(engine, TABLES)
    yield engine
    engine.dispose()


@pytest.fixture
def servicer(engine: Engine) -> ScoringServicer:
    return ScoringServicer(partial(ScoringUnitOfWork, engine), POLICY)


def handle_all(engine: Engine, events: list[Event]) -> None:
    handler = ScoringEventHandler(POLICY)
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.INSPECTIONS.publishes)
            uow.commit()


def seriously_violating(engine: Engine, code: str, days_ago: int) -> None:
    now = utcnow()
    handle_all(
        engine,
        [
            registration(code, occurred_at=now - timedelta(days=days_ago + 30)),
            inspection(code, now - timedelta(days=days_ago + 10)),
            inspection(code, now - timedelta(days=days_ago), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ],
    )


def grade_of(engine: Engine, code: str) -> Grade:
    with ScoringUnitOfWork(engine) as uow:
        grade = uow.grades.get(code)
    assert grade is not None
    return grade


def repair(
    servicer: ScoringServicer,
    code: str,
    principal: Principal = XIAN_REGULATOR,
    rule_code: str = "SERIOUS_VIOLATION",
    reason: str = "整改完成，罚款已缴纳，已提交新的诚信计量承诺书。",
    request_id: str = "",
) -> scoring_pb2.CreditRepair:
    request = scoring_pb2.CreateCreditRepairRequest(
        parent=f"enterprises/{code}",
        credit_repair=scoring_pb2.CreditRepair(rule_code=rule_code, reason=reason),
        request_id=request_id,
    )
    with acting_as(principal):
        return servicer.CreateCreditRepair(request, None).credit_repair  # type: ignore[arg-type]


def error_of(call) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        call()
    return caught.value


def outbox(engine: Engine) -> list[Event]:
    with ScoringUnitOfWork(engine) as uow:
        return [decode(row.value) for row in uow.session.exec(select(OutboxRecord))]


def repairs(engine: Engine) -> int:
    with ScoringUnitOfWork(engine) as uow:
        return len(list(uow.session.exec(select(CreditRepairRow))))


def test_approved_repair_lifts_the_serious_violation_rule(engine, servicer) -> None:
    code = uscc(1)
    seriously_violating(engine, code, days_ago=400)
    assert grade_of(engine, code).level == GradeLevel.D

    granted = repair(servicer, code)

    assert granted.name.startswith(f"enterprises/{code}/creditRepairs/")
    assert granted.decided_by == "wang.li" and granted.rule_code == "SERIOUS_VIOLATION"
    assert granted.create_time.seconds > 0
    grade = grade_of(engine, code)
    assert grade.level < GradeLevel.D
    assert "SERIOUS_VIOLATION" not in [r.code for r in grade.reasons]
    assert granted.grade.level == scoring_pb2.GradeLevel.Value(f"GRADE_LEVEL_{grade.level.name}")
    published = outbox(engine)
    assert [e.WhichOneof("payload") for e in published][-2:] == ["grade_changed", "credit_repair_granted"]
    assert published[-2].grade_changed.previous_level == scoring_pb2.GRADE_LEVEL_D
    assert published[-1].credit_repair_granted.credit_repair == granted.name


def test_a_new_serious_violation_after_the_repair_is_d_again(engine, servicer) -> None:
    code = uscc(2)
    seriously_violating(engine, code, days_ago=400)
    repair(servicer, code)
    later = utcnow() + timedelta(seconds=1)
    handle_all(engine, [inspection(code, later, Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)])
    assert grade_of(engine, code).reasons[0].code == "SERIOUS_VIOLATION"


def test_repair_before_the_minimum_period_is_refused_and_changes_nothing(engine, servicer) -> None:
    code = uscc(3)
    seriously_violating(engine, code, days_ago=100)
    before = grade_of(engine, code)
    error = error_of(lambda: repair(servicer, code))
    assert error.kind == ErrorKind.FAILED_PRECONDITION and error.reason == "REPAIR_TOO_EARLY"
    assert "can be repaired from" in str(error)
    assert grade_of(engine, code) == before and repairs(engine) == 0


def test_repair_of_a_rule_not_in_force_is_refused(engine, servicer) -> None:
    code = uscc(4)
    seriously_violating(engine, code, days_ago=400)
    error = error_of(lambda: repair(servicer, code, rule_code="REFUSED_INSPECTION"))
    assert error.kind == ErrorKind.FAILED_PRECONDITION and error.reason == "RULE_NOT_IN_FORCE"


def test_repair_is_idempotent_by_request_id(engine, servicer) -> None:
    code = uscc(5)
    seriously_violating(engine, code, days_ago=400)
    first = repair(servicer, code, request_id="req-1")
    again = repair(servicer, code, request_id="req-1")
    assert again.name == first.name and repairs(engine) == 1


def test_only_a_regulator_of_the_region_may_repair(engine, servicer) -> None:
    code = uscc(6)
    seriously_violating(engine, code, days_ago=400)
    error = error_of(lambda: repair(servicer, code, principal=BAOJI_REGULATOR))
    assert error.kind == ErrorKind.PERMISSION_DENIED and repairs(engine) == 0


@pytest.mark.parametrize(
    ("rule_code", "reason", "field"),
    [
        ("MANY_OVERDUE_INSTRUMENTS", "ok", "credit_repair.rule_code"),
        ("SERIOUS_VIOLATION", " ", "credit_repair.reason"),
    ],
)
def test_bad_repair_requests_are_invalid(engine, servicer, rule_code, reason, field) -> None:
    code = uscc(7)
    seriously_violating(engine, code, days_ago=400)
    error = error_of(lambda: repair(servicer, code, rule_code=rule_code, reason=reason))
    assert error.kind == ErrorKind.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == [field]


def test_unknown_enterprise_is_not_found(servicer) -> None:
    error = error_of(lambda: repair(servicer, uscc(8)))
    assert error.kind == ErrorKind.NOT_FOUND
