"""Concurrent calls of one state change, on SQLite and PostgreSQL: exactly one succeeds and one event is
staged; the others are refused with ABORTED (the guarded write found the state moved) or
FAILED_PRECONDITION (they read it moved), never an error of the database.

Twenty threads per transition start together (a barrier) on the real SQL units of work: the use cases the
gRPC servicers call, with the database deciding who wins.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from integrity.complaints.v1 import complaints_pb2
from integrity.enterprises.v1 import enterprises_pb2
from integrity.inspections.v1 import inspections_pb2 as Q
from services.complaints.adapters.tables import TABLES as COMPLAINT_TABLES
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.domain.deadlines import Rules
from services.complaints.domain.intake import ComplaintDraft
from services.complaints.use_cases import filing, workflow
from services.enterprises.adapters.tables import TABLES as ENTERPRISE_TABLES
from services.enterprises.adapters.unit_of_work import EnterprisesUnitOfWork
from services.enterprises.domain.declarations import CommitmentDraft
from services.enterprises.use_cases import declarations, enterprises
from services.inspections.adapters.tables import TABLES as INSPECTION_TABLES
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.domain.findings import Findings, InstrumentFinding
from services.inspections.domain.plans import validate_plan_request
from services.inspections.use_cases.inspections import (
    complete_inspection,
    complete_rectification,
    flag_overdue_rectifications,
)
from services.inspections.use_cases.plans import create_plan
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES as SCORING_TABLES
from services.scoring.adapters.tables import AppealRow, CreditRepairRow, OverrideReviewRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.use_cases import appeals, repair
from shared.auth import Principal, Role
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import utcnow
from shared.outbox import OutboxRecord
from tests.helpers import enterprise_registered, valid_uscc
from tests.unit.enterprises.fakes import make_draft
from tests.unit.inspections.test_inspection_use_cases import REGULATOR, inspector, populate
from tests.unit.scoring.fakes import Outcome, inspection, registration

pytestmark = pytest.mark.integration

CALLERS = 20
REFUSED = {ErrorKind.ABORTED, ErrorKind.FAILED_PRECONDITION}


@dataclass
class Race:
    wins: list[Any]
    refusals: list[IntegrityError]


def race(*calls: Callable[[], Any]) -> Race:
    """Runs the calls at once (each in a thread, released together); any other exception fails the test."""
    barrier = threading.Barrier(len(calls))
    wins: list[Any] = []
    refusals: list[IntegrityError] = []
    crashes: list[BaseException] = []
    lock = threading.Lock()

    def run(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            result = call()
        except IntegrityError as refused:
            with lock:
                refusals.append(refused)
        except BaseException as crash:  # an error of the database: the very thing that must not happen
            with lock:
                crashes.append(crash)
        else:
            with lock:
                wins.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not crashes, crashes
    assert all(r.kind in REFUSED for r in refusals), [(r.kind, r.reason, r.message) for r in refusals]
    return Race(wins, refusals)


def events(engine: Engine, event_type: str) -> int:
    with Session(engine) as session:
        rows = session.exec(select(OutboxRecord.id).where(col(OutboxRecord.event_type).endswith(event_type)))
        return len(rows.all())


def engine_for(url: str, tables: list[Any]) -> Iterator[Engine]:
    engine = make_engine(url)
    create_tables(engine, tables)
    yield engine
    engine.dispose()


# --- inspections --------------------------------------------------------------------------------------


@pytest.fixture
def inspections_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_for(database_url, INSPECTION_TABLES)


def test_one_of_twenty_concurrent_completions_wins_then_one_rectification(inspections_engine) -> None:
    uow = partial(InspectionsUnitOfWork, inspections_engine)
    populate(uow(), enterprises=1, inspectors=2)  # type: ignore[arg-type]
    plan = create_plan(uow(), validate_plan_request("610100", 0, [], 5), "", REGULATOR)
    inspection = plan.inspections[0]
    findings = Findings(instruments=(InstrumentFinding("SN1", Q.VERIFICATION_STATUS_OVERDUE, False),))

    def complete(who: str) -> object:
        return complete_inspection(
            uow(),
            inspection.name,
            outcome=Q.INSPECTION_OUTCOME_MINOR_VIOLATION,
            findings=findings,
            penalty_reference="",
            rectification_deadline=utcnow() + timedelta(days=30),
            principal=inspector(who),
            publication_working_days=0,
        )

    outcome = race(*(partial(complete, inspection.inspectors[n % 2]) for n in range(CALLERS)))
    assert len(outcome.wins) == 1 and len(outcome.refusals) == CALLERS - 1
    assert events(inspections_engine, "InspectionCompleted") == 1

    rectify = partial(complete_rectification, name=inspection.name, principal=inspector(inspection.lead))
    rectified = race(*(lambda: rectify(uow()) for _ in range(CALLERS)))
    assert len(rectified.wins) == 1
    assert events(inspections_engine, "RectificationCompleted") == 1


def test_concurrent_overdue_checks_flag_a_missed_deadline_once(inspections_engine) -> None:
    """Two replicas' overdue checkers (and a late rectification) at once: one RectificationOverdue."""
    uow = partial(InspectionsUnitOfWork, inspections_engine)
    populate(uow(), enterprises=1, inspectors=2)  # type: ignore[arg-type]
    inspection = create_plan(uow(), validate_plan_request("610100", 0, [], 5), "", REGULATOR).inspections[0]
    deadline = utcnow() + timedelta(days=1)
    complete_inspection(
        uow(),
        inspection.name,
        outcome=Q.INSPECTION_OUTCOME_MINOR_VIOLATION,
        findings=Findings(instruments=(InstrumentFinding("SN1", Q.VERIFICATION_STATUS_FAILED, False),)),
        penalty_reference="",
        rectification_deadline=deadline,
        principal=inspector(inspection.lead),
        publication_working_days=0,
    )
    later = deadline + timedelta(hours=1)
    outcome = race(*(partial(flag_overdue_rectifications, uow(), later) for _ in range(CALLERS)))
    assert sum(outcome.wins) == 1 and not outcome.refusals
    assert events(inspections_engine, "RectificationOverdue") == 1


# --- scoring: appeals -----------------------------------------------------------------------------------

CODE = valid_uscc(42, "610112")
ENTERPRISE = Principal(f"enterprise@{CODE}", Role.ENTERPRISE, uscc=CODE)
REGULATORS = [Principal(f"regulator-{n}@610100", Role.REGULATOR, region="610100") for n in range(CALLERS)]


@pytest.fixture
def scoring_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_for(database_url, SCORING_TABLES)


def graded(engine: Engine) -> partial[ScoringUnitOfWork]:
    uow = partial(ScoringUnitOfWork, engine)
    with uow() as opened:
        ScoringEventHandler(load_policy())(opened, enterprise_registered(CODE, region="610112"), "t")
        opened.commit()
    return uow


def test_twenty_concurrent_filings_make_one_pending_appeal(scoring_engine) -> None:
    uow = graded(scoring_engine)
    request_id = str(uuid.uuid4())
    file = partial(appeals.file_appeal, principal=ENTERPRISE, uscc=CODE, now=utcnow())
    same = race(*(partial(file, uow(), reason="器具已送检", request_id=request_id) for _ in range(CALLERS)))
    assert len({appeal.id for appeal in same.wins}) == 1  # the repeats are answered with the original
    others = race(
        *(partial(file, uow(), reason=f"理由 {n}", request_id=str(uuid.uuid4())) for n in range(10))
    )
    assert not others.wins and {r.reason for r in others.refusals} <= {"APPEAL_PENDING", "CONCURRENT_CHANGE"}
    with Session(scoring_engine) as session:
        assert len(session.exec(select(AppealRow)).all()) == 1


def test_concurrent_decisions_on_an_appeal_one_wins_with_one_event(scoring_engine) -> None:
    uow = graded(scoring_engine)
    appeal = appeals.file_appeal(uow(), ENTERPRISE, CODE, "器具已送检，请复核。", utcnow())
    before = events(scoring_engine, "GradeOverridden")

    def accept(regulator: Principal) -> object:
        return appeals.accept_appeal(
            uow(), load_policy(), regulator, CODE, appeal.id, GradeLevel.A, None, "复核属实", utcnow()
        )

    def reject(regulator: Principal) -> object:
        return appeals.reject_appeal(uow(), regulator, CODE, appeal.id, "理由不成立", utcnow())

    outcome = race(*(partial(accept if n % 2 else reject, r) for n, r in enumerate(REGULATORS)))
    assert len(outcome.wins) == 1
    decided = outcome.wins[0]
    accepted = isinstance(decided, tuple)
    assert events(scoring_engine, "GradeOverridden") - before == (1 if accepted else 0)
    with Session(scoring_engine) as session:
        row = session.get(AppealRow, appeal.id)
        assert row is not None and row.state == ("ACCEPTED" if accepted else "REJECTED")


def test_twenty_concurrent_lifts_of_an_override_lift_it_once(scoring_engine) -> None:
    uow = graded(scoring_engine)
    policy = load_policy()
    appeal = appeals.file_appeal(uow(), ENTERPRISE, CODE, "器具已送检，请复核。", utcnow())
    appeals.accept_appeal(
        uow(), policy, REGULATORS[0], CODE, appeal.id, GradeLevel.A, None, "复核属实", utcnow()
    )
    before = events(scoring_engine, "OverrideReviewed")
    clock = utcnow() + timedelta(seconds=1)

    def lift(n: int, regulator: Principal) -> object:
        # Each caller's clock is read before it waits, so the one served second may have read the earlier
        # time: here every caller's reads a millisecond earlier than the one before.
        now = clock - timedelta(milliseconds=n)
        return appeals.review_override(
            uow(), policy, regulator, CODE, appeal.id, "LIFT", None, f"复查 {n}", now
        )

    outcome = race(*(partial(lift, n, r) for n, r in enumerate(REGULATORS)))
    # The others find the override ended (FAILED_PRECONDITION) or lost the guarded write (ABORTED).
    assert len(outcome.wins) == 1
    # One whose clock read before the lift, served after it, finds it lifted too.
    late = race(partial(lift, CALLERS, REGULATORS[1]))
    assert not late.wins and late.refusals[0].reason == "OVERRIDE_ENDED"
    assert events(scoring_engine, "OverrideReviewed") - before == 1
    with Session(scoring_engine) as session:
        assert len(session.exec(select(OverrideReviewRow)).all()) == 1


def test_twenty_concurrent_repairs_of_one_rule_with_different_request_ids_grant_it_once(
    scoring_engine,
) -> None:
    # A serious violation 400 days old: repairable (after a year), by any regulator of the region.
    uow = partial(ScoringUnitOfWork, scoring_engine)
    now = utcnow()
    with uow() as opened:
        handler = ScoringEventHandler(load_policy())
        for event in (
            registration(CODE, region="610112", occurred_at=now - timedelta(days=460)),
            inspection(CODE, now - timedelta(days=400), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ):
            handler(opened, event, "t")
        opened.commit()
    with uow() as opened:
        before = opened.grades.get(CODE)
    assert before is not None and before.level >= GradeLevel.C  # the hard rule holds C

    def grant(n: int, regulator: Principal) -> repair.GrantedRepair:
        return repair.grant_credit_repair(
            uow(),
            load_policy(),
            regulator,
            CODE,
            "SERIOUS_VIOLATION",
            f"整改到位 {n}",
            now - timedelta(milliseconds=n),  # read before the wait: the caller served later may read earlier
            request_id=str(uuid.uuid4()),
        )

    outcome = race(*(partial(grant, n, r) for n, r in enumerate(REGULATORS)))
    # One repair lifts the rule; every other caller finds it lifted (FAILED_PRECONDITION) or lost the
    # guarded write (ABORTED): never a second repair, a second event, or a database error.
    assert len(outcome.wins) == 1
    # One whose clock read before the repair, served after it, finds the rule lifted too.
    late = race(partial(grant, CALLERS, REGULATORS[1]))
    assert not late.wins and late.refusals[0].reason == "RULE_NOT_IN_FORCE"
    assert events(scoring_engine, "CreditRepairGranted") == 1
    with uow() as opened:
        after = opened.grades.get(CODE)
    with Session(scoring_engine) as session:
        assert len(session.exec(select(CreditRepairRow)).all()) == 1
    assert after is not None and after.score > before.score


# --- complaints -----------------------------------------------------------------------------------------


@pytest.fixture
def complaints_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_for(database_url, COMPLAINT_TABLES)


def test_one_of_twenty_concurrent_workflow_moves_wins(complaints_engine) -> None:
    uow = partial(ComplaintsUnitOfWork, complaints_engine)
    draft = ComplaintDraft(
        f"enterprises/{CODE}",
        complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        complaints_pb2.COMPLAINT_CHANNEL_PLATFORM_12315,
        "称重少了二两",
    )
    filed = filing.create_complaint(uow(), draft, None, "", Principal("12315", Role.SYSTEM), Rules())
    name = filed.complaint.name
    moves = [
        partial(workflow.accept_complaint, uow(), name, "", regulator)
        if n % 2
        else partial(workflow.reject_complaint, uow(), name, "不属于计量", "", regulator)
        for n, regulator in enumerate(REGULATORS)
    ]
    outcome = race(*moves)
    assert len(outcome.wins) == 1
    assert (
        events(complaints_engine, "ComplaintAccepted") + events(complaints_engine, "ComplaintRejected") == 1
    )


# --- enterprises: commitments and updates ---------------------------------------------------------------

TODAY = date(2025, 3, 1)


@pytest.fixture
def enterprises_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_for(database_url, ENTERPRISE_TABLES)


def test_one_of_twenty_concurrent_withdrawals_and_updates_wins(enterprises_engine) -> None:
    uow = partial(EnterprisesUnitOfWork, enterprises_engine)
    created = enterprises.create_enterprise(uow(), make_draft(), today=TODAY).enterprise
    owner = Principal(f"enterprise@{created.uscc}", Role.ENTERPRISE, uscc=created.uscc)
    promise = CommitmentDraft(
        (enterprises_pb2.COMMITMENT_ITEM_NO_CHEATING_DEVICES,), "", "2025-03-01", "2026-02-28"
    )
    now = datetime(2025, 3, 1, 2, tzinfo=UTC)
    commitment, _ = declarations.create_commitment(uow(), created.name, promise, owner, now=now, today=TODAY)
    withdraw = partial(declarations.withdraw_commitment, name=commitment.name, principal=owner, today=TODAY)
    outcome = race(*(partial(withdraw, uow()) for _ in range(CALLERS)))
    assert len(outcome.wins) == 1
    assert events(enterprises_engine, "CommitmentWithdrawn") == 1

    def rename(n: int) -> object:
        change = enterprises.EnterpriseChange(  # type: ignore[attr-defined]
            created.name, make_draft(display_name=f"新名称 {n}"), 0, created.etag, ("display_name",)
        )
        return enterprises.update_enterprise(uow(), change, today=TODAY)

    renamed = race(*(partial(rename, n) for n in range(CALLERS)))
    assert len(renamed.wins) == 1
    assert events(enterprises_engine, "EnterpriseUpdated") == 1
