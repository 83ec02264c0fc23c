"""Appeals (申诉): an enterprise files an appeal against its grade; a regulator of its region finds it in
their queue and accepts it (overriding the level until an expiry time) or rejects it, and reviews an
override before it expires (confirms, shortens or lifts it). See domain/appeals.py.

Every step is an event on the scoring topic (AppealFiled, GradeOverridden, AppealRejected,
OverrideReviewed), so the decisions are exported and imported with who, when and why. An acceptance and a
review are also ingested, which regrades the enterprise in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.mapping import level_to_proto
from services.scoring.domain.appeals import Appeal, check_review, new_appeal, override_expiry, require_reason
from services.scoring.domain.decisions import DecisionCursor
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.names import appeal_name, enterprise_name, grade_name
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.access import DecisionPage, list_decisions, require_access
from services.scoring.use_cases.decision_time import hold_enterprise
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, require_enterprise_read
from shared.errors import concurrent_change, failed_precondition, not_found
from shared.events import new_event
from shared.idempotency import repeat_of, settled_after_conflict

APPEALS = "appeals"


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
        payload = events_pb2.AppealFiled(
            appeal=appeal.name,
            reason=reason,
            appealed_level=level_to_proto(appeal.appealed_level),
            filed_by=principal.subject,
        )
        uow.add_event(TOPIC, new_event(SOURCE, uscc, payload, occurred_at=now))
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
        payload = events_pb2.AppealRejected(appeal=rejected.name, decided_by=principal.subject, reason=reason)
        uow.add_event(TOPIC, new_event(SOURCE, uscc, payload, occurred_at=now))
        uow.commit()
    return rejected


def review_override(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    appeal_id: str,
    action: str,
    expire_at: datetime | None,
    reason: str,
    now: datetime,
) -> tuple[Appeal, Grade]:
    """Confirms, shortens or lifts the override of an accepted appeal that still holds; returns the
    appeal with its review and the enterprise's grade after it. Two reviews at once run one after the
    other (decision_time.py): the second sees the first's."""
    with uow:
        require_access(uow, principal, uscc)
        now, _ = hold_enterprise(uow, uscc, now)
        appeal = _appeal(uow, uscc, appeal_id)
        review = check_review(appeal, action, expire_at, reason, principal.subject, now)
        payload = events_pb2.OverrideReviewed(
            appeal=appeal.name,
            action=scoring_pb2.OverrideReviewAction.Value(f"OVERRIDE_REVIEW_ACTION_{action}"),
            reviewed_by=principal.subject,
            reason=reason,
        )
        payload.expire_time.FromDatetime(review.expire_at)
        payload.previous_expire_time.FromDatetime(review.previous_expire_at)
        event = new_event(SOURCE, uscc, payload, occurred_at=now)
        review = replace(review, event_id=event.id)
        ingest(uow, policy, event)  # the override now ends at the reviewed expiry: regraded here
        uow.add_event(TOPIC, event)
        if not uow.appeals.save(appeal.reviewed(review), appeal.state, appeal.override_expire_at):
            raise concurrent_change(appeal.name)  # reviewed or decided meanwhile: this review rolls back
        uow.appeals.add_review(appeal.id, review)
        grade = uow.grades.get(uscc)
        assert grade is not None  # an appeal is filed against a grade
        uow.commit()
    return appeal.reviewed(review), grade


def list_appeals(
    uow: ScoringUoW,
    principal: Principal,
    uscc: str | None,
    filter_text: str,
    page_size: int,
    page_token: str,
    *,
    now: datetime,
) -> DecisionPage[Appeal]:
    """A page of appeals, oldest first: a regulator's queue of their region, an enterprise's own."""
    return list_decisions(
        uow,
        principal,
        APPEALS,
        uscc,
        filter_text,
        page_size,
        page_token,
        fetch=lambda query, limit, after: uow.appeals.list(query, now, limit, after),
        cursor_of=lambda appeal: DecisionCursor(appeal.created_at, appeal.id),
    )


def _appeal(uow: ScoringUoW, uscc: str, appeal_id: str) -> Appeal:
    appeal = uow.appeals.get(appeal_id)
    if appeal is None or appeal.uscc != uscc:
        raise not_found(appeal_name(uscc, appeal_id))
    return appeal
