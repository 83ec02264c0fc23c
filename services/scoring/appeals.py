"""Appeals (申诉): an enterprise contests its grade; a regulator accepts (overriding the level until an
expiry time) or rejects, with a reason. Every step records who, when and why. No gRPC here.

An accepted appeal becomes a GradeOverridden event in the enterprise's history, so grades stay a pure
function of the history; the override lapses by itself at its expiry (the next event or the daily
recompute regrades the enterprise).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from integrity.events.v1 import events_pb2
from services.scoring.convert import level_to_proto
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.policy import Policy
from services.scoring.handlers import SOURCE, ScoringEventHandler
from services.scoring.manifest import TOPIC
from services.scoring.repository import ScoringRepository, as_utc
from services.scoring.tables import AppealRow
from shared.errors import FieldViolation, failed_precondition, invalid_argument, not_found
from shared.events import new_event
from shared.outbox import add_event

PENDING, ACCEPTED, REJECTED = "PENDING", "ACCEPTED", "REJECTED"


def appeal_name(uscc: str, appeal_id: str) -> str:
    return f"enterprises/{uscc}/appeals/{appeal_id}"


def file_appeal(
    session: Session, uscc: str, reason: str, filed_by: str, now: datetime, request_id: str = ""
) -> AppealRow:
    """Files an appeal against the current grade; one pending appeal per enterprise at a time."""
    if request_id:
        repeated = session.exec(
            select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.request_id == request_id)
        ).first()
        if repeated is not None:
            return repeated
    _require_reason(reason, "appeal.reason")
    grade = ScoringRepository(session).get_grade(uscc)
    if grade is None:
        raise not_found(f"enterprises/{uscc}/grade")
    pending = session.exec(
        select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.state == PENDING)
    ).first()
    if pending is not None:
        raise failed_precondition(
            f"{appeal_name(uscc, pending.id)} is still pending; wait for its decision", "APPEAL_PENDING"
        )
    row = AppealRow(
        id=str(uuid.uuid4()),
        uscc=uscc,
        reason=reason,
        state=PENDING,
        appealed_level=int(grade.level),
        filed_by=filed_by,
        request_id=request_id,
        created_at=now,
    )
    session.add(row)
    return row


def get_appeal(session: Session, uscc: str, appeal_id: str) -> AppealRow:
    row = session.get(AppealRow, appeal_id)
    if row is None or row.uscc != uscc:
        raise not_found(appeal_name(uscc, appeal_id))
    return row


def accept_appeal(
    session: Session,
    policy: Policy,
    row: AppealRow,
    level: GradeLevel | None,
    expire_at: datetime | None,
    reason: str,
    decided_by: str,
    now: datetime,
) -> Grade:
    """Overrides the grade level until `expire_at` (default: the policy's period); returns the new grade."""
    violations = []
    if level is None:
        violations.append(FieldViolation("override_level", "is required: GRADE_LEVEL_A ... GRADE_LEVEL_D"))
    latest = now + timedelta(days=policy.override_max_days)
    expire_at = expire_at or now + timedelta(days=policy.override_default_days)
    if not now < expire_at <= latest:
        violations.append(
            FieldViolation(
                "override_expire_time",
                f"must be after now and at most {policy.override_max_days} days ahead "
                f"(by {latest.isoformat()})",
            )
        )
    if not reason.strip():
        violations.append(FieldViolation("reason", "is required: say why the appeal is accepted"))
    if violations:
        raise invalid_argument(violations)
    assert level is not None
    _require_pending(row)

    payload = events_pb2.GradeOverridden(
        appeal=appeal_name(row.uscc, row.id),
        level=level_to_proto(level),
        decided_by=decided_by,
        reason=reason,
    )
    payload.expire_time.FromDatetime(expire_at)
    event = new_event(SOURCE, row.uscc, payload, occurred_at=now)
    # Joins the history like any source event and regrades the enterprise in this transaction.
    ScoringEventHandler(policy).handle(session, event, TOPIC)
    add_event(session, TOPIC, event)

    row.state = ACCEPTED
    row.decided_by, row.decision_reason, row.decided_at = decided_by, reason, now
    row.override_level, row.override_expire_at, row.override_event_id = int(level), expire_at, event.id
    session.add(row)
    grade = ScoringRepository(session).get_grade(row.uscc)
    assert grade is not None
    return grade


def reject_appeal(session: Session, row: AppealRow, reason: str, decided_by: str, now: datetime) -> None:
    _require_reason(reason, "reason")
    _require_pending(row)
    row.state = REJECTED
    row.decided_by, row.decision_reason, row.decided_at = decided_by, reason, now
    session.add(row)


def override_expire_at(row: AppealRow) -> datetime | None:
    return None if row.override_expire_at is None else as_utc(row.override_expire_at)


def _require_reason(reason: str, field: str) -> None:
    if not reason.strip():
        raise invalid_argument([FieldViolation(field, "is required")])


def _require_pending(row: AppealRow) -> None:
    if row.state != PENDING:
        raise failed_precondition(
            f"{appeal_name(row.uscc, row.id)} was already {row.state.lower()}", "APPEAL_ALREADY_DECIDED"
        )
