"""Appeals (申诉): an enterprise files an appeal against its grade; a regulator of its region reads it and
accepts it (overriding the level until an expiry time) or rejects it. See domain/appeals.py.

An accepted appeal is ingested as a GradeOverridden event, which regrades the enterprise in the same
transaction and is published on the scoring topic.
"""

from __future__ import annotations

from datetime import datetime

from integrity.events.v1 import events_pb2
from services.scoring.adapters.mapping import level_to_proto
from services.scoring.domain.appeals import Appeal, new_appeal, override_expiry, require_reason
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.names import appeal_name, enterprise_name, grade_name
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.access import require_access
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, require_enterprise_read
from shared.errors import concurrent_change, failed_precondition, not_found
from shared.events import new_event
from shared.idempotency import repeat_of, settled_after_conflict


def file_appeal(
    uow: ScoringUoW, principal: Principal, uscc: str, reason: str, now: datetime, request_id: str = ""
) -> Appeal:
    """Files an appeal against the current grade; one pending appeal per enterprise at a time. A repeat
    with the same request id returns the appeal the first one filed; the same request id with another
    reason is ALREADY_EXISTS (REQUEST_ID_REUSED). The database settles concurrent filings (unique indexes
    on the pending appeal and on the request id): the loser is answered as if it had come second."""
    require_enterprise_read(principal, uscc, None)  # only enterprises may appeal (method roles): itself
    return settled_after_conflict(
        lambda: _file(uow, principal, uscc, reason, now, request_id), enterprise_name(uscc)
    )


def _file(
    uow: ScoringUoW, principal: Principal, uscc: str, reason: str, now: datetime, request_id: str
) -> Appeal:
    with uow:
        found = uow.appeals.by_request_id(uscc, request_id) if request_id else None
        if repeated := repeat_of(found, lambda appeal: appeal.reason == reason, request_id, "appeal"):
            return repeated
        require_reason(reason, "appeal.reason")
        grade = uow.grades.get(uscc)
        if grade is None:
            raise not_found(grade_name(uscc))
        pending = uow.appeals.pending_of(uscc)
        if pending is not None:
            raise failed_precondition(
                f"{pending.name} is still pending; wait for its decision", "APPEAL_PENDING"
            )
        appeal = new_appeal(uscc, grade, reason, principal.subject, now, request_id)
        uow.appeals.add(appeal)
        uow.commit()
    return appeal


def get_appeal(uow: ScoringUoW, principal: Principal, uscc: str, appeal_id: str) -> Appeal:
    with uow:
        require_access(uow, principal, uscc)
        return _appeal(uow, uscc, appeal_id)


def accept_appeal(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    appeal_id: str,
    level: GradeLevel | None,
    expire_at: datetime | None,
    reason: str,
    now: datetime,
) -> tuple[Appeal, Grade]:
    """Overrides the grade level until `expire_at` (default: the policy's period); returns the decided
    appeal and the enterprise's new grade."""
    with uow:
        require_access(uow, principal, uscc)
        appeal = _appeal(uow, uscc, appeal_id)
        expire_at = override_expiry(policy, level, expire_at, reason, now)
        assert level is not None  # override_expiry requires one
        payload = events_pb2.GradeOverridden(
            appeal=appeal.name, level=level_to_proto(level), decided_by=principal.subject, reason=reason
        )
        payload.expire_time.FromDatetime(expire_at)
        event = new_event(SOURCE, uscc, payload, occurred_at=now)
        accepted = appeal.accepted(level, expire_at, reason, principal.subject, now, event.id)
        # Joins the history like any source event and regrades the enterprise in this transaction.
        ingest(uow, policy, event)
        uow.add_event(TOPIC, event)
        if not uow.appeals.save(accepted, appeal.state):
            raise concurrent_change(appeal.name)  # decided meanwhile: the override and its event roll back
        grade = uow.grades.get(uscc)
        assert grade is not None
        uow.commit()
    return accepted, grade


def reject_appeal(
    uow: ScoringUoW, principal: Principal, uscc: str, appeal_id: str, reason: str, now: datetime
) -> Appeal:
    with uow:
        require_access(uow, principal, uscc)
        appeal = _appeal(uow, uscc, appeal_id)
        rejected = appeal.rejected(reason, principal.subject, now)
        if not uow.appeals.save(rejected, appeal.state):
            raise concurrent_change(appeal.name)
        uow.commit()
    return rejected


def _appeal(uow: ScoringUoW, uscc: str, appeal_id: str) -> Appeal:
    appeal = uow.appeals.get(appeal_id)
    if appeal is None or appeal.uscc != uscc:
        raise not_found(appeal_name(uscc, appeal_id))
    return appeal
