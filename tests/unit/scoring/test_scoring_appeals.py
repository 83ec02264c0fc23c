"""Appeals through ScoringServicer (called directly): file, accept with an override, reject, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from integrity.scoring.v1 import scoring_pb2
from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from services.scoring.use_cases.recompute import recompute_all
from shared.auth import Principal, Role, acting_as
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import Event, decode, utcnow
from shared.outbox import OutboxRecord
from tests.unit.scoring.fakes import Outcome, inspection, registration, serious_violation_at_d, uscc

POLICY = serious_violation_at_d(load_policy())
CODE = uscc(1)
OTHER = uscc(2)
ENTERPRISE = Principal(f"enterprise:{CODE}", Role.ENTERPRISE, uscc=CODE)
XIAN_REGULATOR = Principal("wang.li", Role.REGULATOR, region="610100")
BAOJI_REGULATOR = Principal("zhao.min", Role.REGULATOR, region="610300")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    create_tables(engine, TABLES)
    now = utcnow()
    events: list[Event] = []
    for code in (CODE, OTHER):
        events += [
            registration(code, occurred_at=now - timedelta(days=60)),
            inspection(code, now - timedelta(days=10), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ]
    handler = ScoringEventHandler(POLICY)
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.INSPECTIONS.publishes)
            uow.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def servicer(engine: Engine) -> ScoringServicer:
    return ScoringServicer(partial(ScoringUnitOfWork, engine), POLICY)


def call(principal: Principal, method, request):
    with acting_as(principal):
        return method(request, None)


def file(servicer, principal=ENTERPRISE, code=CODE, reason="检查时器具已送检，请复核。", request_id=""):
    request = scoring_pb2.CreateAppealRequest(
        parent=f"enterprises/{code}", appeal=scoring_pb2.Appeal(reason=reason), request_id=request_id
    )
    return call(principal, servicer.CreateAppeal, request).appeal


def accept(
    servicer, name, principal=XIAN_REGULATOR, level=scoring_pb2.GRADE_LEVEL_B, days=None, reason="记录有误"
):
    request = scoring_pb2.AcceptAppealRequest(name=name, override_level=level, reason=reason)
    if days is not None:
        request.override_expire_time.FromDatetime(utcnow() + timedelta(days=days))
    return call(principal, servicer.AcceptAppeal, request)


def error_of(function) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        function()
    return caught.value


def grade_of(engine: Engine, code: str = CODE) -> Grade:
    with ScoringUnitOfWork(engine) as uow:
        grade = uow.grades.get(code)
    assert grade is not None
    return grade


def published(engine: Engine) -> list[str]:
    with ScoringUnitOfWork(engine) as uow:
        return [decode(row.value).WhichOneof("payload") for row in uow.session.exec(select(OutboxRecord))]


def test_an_accepted_appeal_overrides_the_grade_until_it_expires(engine, servicer) -> None:
    assert grade_of(engine).level == GradeLevel.D
    appeal = file(servicer)
    assert (
        appeal.state == scoring_pb2.APPEAL_STATE_PENDING
        and appeal.appealed_level == scoring_pb2.GRADE_LEVEL_D
    )
    assert appeal.filed_by == ENTERPRISE.subject

    response = accept(servicer, appeal.name, days=90)
    decided = response.appeal
    assert decided.state == scoring_pb2.APPEAL_STATE_ACCEPTED and decided.decided_by == "wang.li"
    assert decided.decision_reason == "记录有误" and decided.override_level == scoring_pb2.GRADE_LEVEL_B
    assert response.grade.level == scoring_pb2.GRADE_LEVEL_B
    grade = grade_of(engine)
    assert grade.level == GradeLevel.B and grade.reasons[0].code == "REGULATOR_OVERRIDE"
    assert POLICY.grade_cutoffs.level_for(grade.score) == GradeLevel.B  # the score agrees with the level
    assert published(engine)[-2:] == ["grade_changed", "grade_overridden"]

    expiry = decided.override_expire_time.ToDatetime(tzinfo=UTC)
    recompute_all(ScoringUnitOfWork(engine), POLICY, expiry + timedelta(days=1))
    grade = grade_of(engine)
    assert grade.level == GradeLevel.D and grade.reasons[0].code == "SERIOUS_VIOLATION"


def test_a_rejected_appeal_leaves_the_grade(engine, servicer) -> None:
    appeal = file(servicer)
    request = scoring_pb2.RejectAppealRequest(name=appeal.name, reason="检查记录经核实无误。")
    rejected = call(XIAN_REGULATOR, servicer.RejectAppeal, request).appeal
    assert rejected.state == scoring_pb2.APPEAL_STATE_REJECTED and rejected.decide_time.seconds > 0
    assert grade_of(engine).level == GradeLevel.D
    read = call(ENTERPRISE, servicer.GetAppeal, scoring_pb2.GetAppealRequest(name=appeal.name)).appeal
    assert read == rejected
    again = error_of(lambda: accept(servicer, appeal.name))
    assert again.kind == ErrorKind.FAILED_PRECONDITION and again.reason == "APPEAL_ALREADY_DECIDED"


def test_one_pending_appeal_at_a_time_and_request_ids_repeat(engine, servicer) -> None:
    first = file(servicer, request_id="r1")
    assert file(servicer, request_id="r1").name == first.name
    error = error_of(lambda: file(servicer, request_id="r2"))
    assert error.kind == ErrorKind.FAILED_PRECONDITION and error.reason == "APPEAL_PENDING"


def test_who_may_appeal_and_decide(engine, servicer) -> None:
    assert error_of(lambda: file(servicer, code=OTHER)).kind == ErrorKind.PERMISSION_DENIED
    appeal = file(servicer)
    assert error_of(lambda: accept(servicer, appeal.name, principal=BAOJI_REGULATOR)).kind == (
        ErrorKind.PERMISSION_DENIED
    )
    other = Principal(f"enterprise:{OTHER}", Role.ENTERPRISE, uscc=OTHER)
    get = scoring_pb2.GetAppealRequest(name=appeal.name)
    assert error_of(lambda: call(other, servicer.GetAppeal, get)).kind == ErrorKind.PERMISSION_DENIED
    assert grade_of(engine).level == GradeLevel.D


@pytest.mark.parametrize(
    ("level", "days", "reason", "field"),
    [
        (scoring_pb2.GRADE_LEVEL_UNSPECIFIED, 30, "ok", "override_level"),
        (scoring_pb2.GRADE_LEVEL_B, 400, "ok", "override_expire_time"),
        (scoring_pb2.GRADE_LEVEL_B, -1, "ok", "override_expire_time"),
        (scoring_pb2.GRADE_LEVEL_B, 30, " ", "reason"),
    ],
)
def test_bad_decisions_are_invalid_and_change_nothing(engine, servicer, level, days, reason, field) -> None:
    appeal = file(servicer)
    error = error_of(lambda: accept(servicer, appeal.name, level=level, days=days, reason=reason))
    assert error.kind == ErrorKind.INVALID_ARGUMENT and [v.field for v in error.field_violations] == [field]
    assert grade_of(engine).level == GradeLevel.D


def test_appeal_names_are_checked(servicer) -> None:
    bad = scoring_pb2.GetAppealRequest(name=f"enterprises/{CODE}/appeal/x")
    assert error_of(lambda: call(XIAN_REGULATOR, servicer.GetAppeal, bad)).kind == ErrorKind.INVALID_ARGUMENT
    missing = scoring_pb2.GetAppealRequest(name=f"enterprises/{CODE}/appeals/nope")
    assert error_of(lambda: call(XIAN_REGULATOR, servicer.GetAppeal, missing)).kind == ErrorKind.NOT_FOUND
