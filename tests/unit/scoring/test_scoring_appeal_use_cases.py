"""The appeal and credit repair use cases on the in-memory unit of work (their SQL twins, through the
servicer: test_scoring_appeals.py and test_scoring_repair.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.appeals import ACCEPTED, PENDING, REJECTED, Appeal
from services.scoring.domain.grades import GradeLevel
from services.scoring.use_cases import appeals
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.repair import grant_credit_repair
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import utcnow
from tests.unit.scoring.fakes import (
    FakeScoringUnitOfWork,
    Outcome,
    inspection,
    registration,
    serious_violation_at_d,
    uscc,
)

POLICY = serious_violation_at_d(load_policy())
CODE = uscc(1)
ENTERPRISE = Principal(f"enterprise:{CODE}", Role.ENTERPRISE, uscc=CODE)
XIAN_REGULATOR = Principal("wang.li", Role.REGULATOR, region="610100")
BAOJI_REGULATOR = Principal("zhao.min", Role.REGULATOR, region="610300")
NOW = utcnow()


@pytest.fixture
def uow() -> FakeScoringUnitOfWork:
    """An enterprise graded D for a serious violation 400 days ago (old enough for a credit repair)."""
    uow = FakeScoringUnitOfWork()
    for event in (
        registration(CODE, occurred_at=NOW - timedelta(days=460)),
        inspection(CODE, NOW - timedelta(days=400), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
    ):
        with uow:
            ingest(uow, POLICY, event)
            uow.commit()
    assert uow.grade_rows[CODE].level == GradeLevel.D
    return uow


def error_of(call) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        call()
    return caught.value


def file(
    uow: FakeScoringUnitOfWork, request_id: str = "", reason: str = "检查时器具已送检，请复核。"
) -> Appeal:
    return appeals.file_appeal(uow, ENTERPRISE, CODE, reason, NOW, request_id)


def test_an_accepted_appeal_is_ingested_as_an_override_and_published(uow) -> None:
    appeal = file(uow)
    assert (appeal.state, appeal.appealed_level, appeal.filed_by) == (
        PENDING,
        GradeLevel.D,
        ENTERPRISE.subject,
    )
    published = len(uow.published)

    expire_at = NOW + timedelta(days=90)
    decided, grade = appeals.accept_appeal(
        uow, POLICY, XIAN_REGULATOR, CODE, appeal.id, GradeLevel.B, expire_at, "记录有误", NOW
    )

    assert (decided.state, decided.decided_by, decided.override_level) == (ACCEPTED, "wang.li", GradeLevel.B)
    assert uow.appeal_rows[appeal.id] == decided
    assert grade == uow.grade_rows[CODE] and grade.level == GradeLevel.B
    assert grade.reasons[0].code == "REGULATOR_OVERRIDE"
    # The override joined the history (so replays see it) and went out after the level change it caused.
    assert decided.override_event_id in uow.history_rows
    assert uow.published_kinds()[published:] == ["grade_changed", "grade_overridden"]


def test_a_rejected_appeal_leaves_the_grade_and_cannot_be_accepted(uow) -> None:
    appeal = file(uow)
    rejected = appeals.reject_appeal(uow, XIAN_REGULATOR, CODE, appeal.id, "检查记录经核实无误。", NOW)
    assert rejected.state == REJECTED and rejected.decided_at == NOW
    assert appeals.get_appeal(uow, ENTERPRISE, CODE, appeal.id) == rejected
    again = error_of(
        lambda: appeals.accept_appeal(
            uow, POLICY, XIAN_REGULATOR, CODE, appeal.id, GradeLevel.B, None, "x", NOW
        )
    )
    assert again.kind == ErrorKind.FAILED_PRECONDITION and again.reason == "APPEAL_ALREADY_DECIDED"
    assert uow.grade_rows[CODE].level == GradeLevel.D


def test_one_pending_appeal_at_a_time_and_a_repeated_request_returns_the_first(uow) -> None:
    first = file(uow, request_id="r1")
    assert file(uow, request_id="r1") == first
    error = error_of(lambda: file(uow, request_id="r2"))
    assert error.kind == ErrorKind.FAILED_PRECONDITION and error.reason == "APPEAL_PENDING"
    reused = error_of(lambda: file(uow, request_id="r1", reason="另一个理由"))
    assert reused.kind == ErrorKind.ALREADY_EXISTS and reused.reason == "REQUEST_ID_REUSED"
    assert "另一个理由" not in reused.message
    assert list(uow.appeal_rows) == [first.id]


def test_a_bad_decision_or_a_caller_outside_the_region_changes_nothing(uow) -> None:
    appeal = file(uow)
    commits, published = uow.commits, list(uow.published)
    bad = error_of(
        lambda: appeals.accept_appeal(uow, POLICY, XIAN_REGULATOR, CODE, appeal.id, None, None, " ", NOW)
    )
    assert [v.field for v in bad.field_violations] == ["override_level", "reason"]
    outside = error_of(
        lambda: appeals.accept_appeal(
            uow, POLICY, BAOJI_REGULATOR, CODE, appeal.id, GradeLevel.B, None, "ok", NOW
        )
    )
    assert outside.kind == ErrorKind.PERMISSION_DENIED
    assert (uow.commits, uow.published) == (commits, published)
    assert uow.appeal_rows[appeal.id].state == PENDING


def test_an_enterprise_without_a_grade_cannot_appeal() -> None:
    error = error_of(lambda: file(FakeScoringUnitOfWork()))
    assert error.kind == ErrorKind.NOT_FOUND


def test_a_credit_repair_is_ingested_and_repeats_by_request_id(uow) -> None:
    granted = grant_credit_repair(
        uow, POLICY, XIAN_REGULATOR, CODE, "SERIOUS_VIOLATION", "整改完成。", NOW, request_id="q1"
    )
    assert granted.grade == uow.grade_rows[CODE] and granted.grade.level < GradeLevel.D
    assert uow.published_kinds()[-2:] == ["grade_changed", "credit_repair_granted"]
    assert granted.repair.event_id in uow.history_rows
    again = grant_credit_repair(
        uow, POLICY, XIAN_REGULATOR, CODE, "SERIOUS_VIOLATION", "整改完成。", NOW, request_id="q1"
    )
    assert again.repair == granted.repair and list(uow.repair_rows) == [granted.repair.id]
