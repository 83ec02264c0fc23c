"""Credit repair (信用修复): a regulator of the enterprise's region lifts a hard rule once its evidence is
old enough, on their own initiative (CreateCreditRepair) or granting the enterprise's application with a
new commitment letter; an application can also be refused with a reason. See domain/repairs.py.

A repair is ingested as a CreditRepairGranted event, which regrades the enterprise in the same
transaction; the same event is published on the scoring topic for other government systems. An
application and a refusal are events on the scoring topic too (CreditRepairApplied, CreditRepairRefused),
so the decisions are exported and imported with who, when and why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from integrity.events.v1 import events_pb2
from services.scoring.domain.decisions import DecisionCursor
from services.scoring.domain.features import compute_features
from services.scoring.domain.grades import Grade
from services.scoring.domain.names import (
    credit_repair_application_name,
    credit_repair_name,
    enterprise_name,
)
from services.scoring.domain.policy import HardRule, Policy
from services.scoring.domain.repairs import (
    PENDING,
    CreditRepair,
    RepairApplication,
    check_application,
    repairable_rule,
    require_repairable,
)
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.access import DecisionPage, list_decisions, require_access
from services.scoring.use_cases.decision_time import hold_enterprise
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, require_enterprise_read
from shared.errors import concurrent_change, failed_precondition, not_found
from shared.events import new_event
from shared.idempotency import repeat_of, settled_after_conflict

APPLICATIONS = "credit repair applications"


@dataclass(frozen=True)
class GrantedRepair:
    repair: CreditRepair
    grade: Grade  # the enterprise's grade after the repair


def grant_credit_repair(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    rule_code: str,
    reason: str,
    now: datetime,
    request_id: str = "",
) -> GrantedRepair:
    """Lifts `rule_code` for the enterprise as of `now`; raises INVALID_ARGUMENT, NOT_FOUND or
    FAILED_PRECONDITION (rule not in force, or its evidence too recent) and then changes nothing. A repeat
    with the same request id returns the repair the first one granted, also when both arrive at once (the
    database's unique index on the request id settles it: the loser is answered as the repeat)."""

    def attempt() -> GrantedRepair:
        with uow:
            require_access(uow, principal, uscc)  # only regulators may repair (method roles): of its region
            found = uow.repairs.by_request_id(uscc, request_id) if request_id else None
            asked = (rule_code, reason)
            if repeated := repeat_of(
                found, lambda r: (r.rule_code, r.reason) == asked, request_id, "credit repair"
            ):
                grade = uow.grades.get(uscc)
                assert grade is not None  # a repair is only granted to a graded enterprise
                return GrantedRepair(repeated, grade)

            rule = repairable_rule(policy, rule_code, reason)
            granted = _grant(uow, policy, principal, uscc, rule, reason, now, request_id)
            uow.commit()
        return granted

    return settled_after_conflict(attempt, enterprise_name(uscc))


def _grant(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    rule: HardRule,
    reason: str,
    now: datetime,
    request_id: str,
    application: str = "",
) -> GrantedRepair:
    """The repair, staged in the open `uow`: checked, ingested (the enterprise is regraded) and recorded.
    The enterprise is held first (decision_time.py), so two repairs at once (other request ids, or an
    application's grant beside a regulator's own repair) cannot both find the rule in force: the second
    waits, then reads the history the first wrote and is refused."""
    now, entries = hold_enterprise(uow, uscc, now)
    _require_graded(uow, uscc)
    features = compute_features([entry.event for entry in entries], now)
    require_repairable(policy, rule, features, uscc, now)
    repair_id = str(uuid.uuid4())
    payload = events_pb2.CreditRepairGranted(
        credit_repair=credit_repair_name(uscc, repair_id),
        rule_code=rule.code,
        decided_by=principal.subject,
        reason=reason,
        application=application,
    )
    event = new_event(SOURCE, uscc, payload, occurred_at=now)
    # The repair joins the history like any source event and regrades the enterprise.
    ingest(uow, policy, event)
    uow.add_event(TOPIC, event)
    repair = CreditRepair(repair_id, uscc, rule.code, reason, principal.subject, request_id, now, event.id)
    uow.repairs.add(repair)
    grade = uow.grades.get(uscc)
    assert grade is not None
    return GrantedRepair(repair, grade)


def _require_graded(uow: ScoringUoW, uscc: str) -> None:
    if uow.enterprises.get(uscc) is None or uow.grades.get(uscc) is None:
        raise not_found(enterprise_name(uscc))


# --- the enterprise's application ---------------------------------------------------------------------


def apply_for_repair(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    rule_code: str,
    commitment_letter: str,
    rectification_statement: str,
    now: datetime,
    request_id: str = "",
) -> RepairApplication:
    """The enterprise applies for repair of `rule_code` with a new commitment letter: INVALID_ARGUMENT for a
    rule that cannot be repaired or a missing letter, FAILED_PRECONDITION when the rule is not in force,
    its evidence is too recent, or an application for it is pending. A repeat with the same request id
    returns the first application, also when both arrive at once (a unique index settles it)."""
    return settled_after_conflict(
        lambda: _apply(
            uow,
            policy,
            principal,
            uscc,
            rule_code,
            commitment_letter,
            rectification_statement,
            now,
            request_id,
        ),
        enterprise_name(uscc),
    )


def _apply(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    rule_code: str,
    commitment_letter: str,
    rectification_statement: str,
    now: datetime,
    request_id: str = "",
) -> RepairApplication:
    require_enterprise_read(principal, uscc, None)  # only enterprises apply (method roles): for itself
    with uow:
        repeated = uow.applications.by_request_id(uscc, request_id) if request_id else None
        if repeated is not None:
            return repeated
        rule = check_application(policy, rule_code, commitment_letter, rectification_statement)
        _require_graded(uow, uscc)
        require_repairable(policy, rule, compute_features(uow.history.events(uscc), now), uscc, now)
        pending = uow.applications.pending_of(uscc, rule_code)
        if pending is not None:
            raise failed_precondition(
                f"{pending.name} for {rule_code} is still pending; wait for its decision",
                "APPLICATION_PENDING",
            )
        application_id = str(uuid.uuid4())
        payload = events_pb2.CreditRepairApplied(
            application=credit_repair_application_name(uscc, application_id),
            rule_code=rule_code,
            commitment_letter=commitment_letter,
            rectification_statement=rectification_statement,
            applied_by=principal.subject,
        )
        event = new_event(SOURCE, uscc, payload, occurred_at=now)
        application = RepairApplication(
            application_id,
            uscc,
            rule_code,
            commitment_letter,
            rectification_statement,
            PENDING,
            principal.subject,
            request_id,
            now,
            event.id,
        )
        uow.applications.add(application)
        uow.add_event(TOPIC, event)
        uow.commit()
    return application


def get_application(
    uow: ScoringUoW, principal: Principal, uscc: str, application_id: str
) -> RepairApplication:
    with uow:
        require_access(uow, principal, uscc)
        return _application(uow, uscc, application_id)


def grant_application(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    application_id: str,
    reason: str,
    now: datetime,
) -> tuple[RepairApplication, GrantedRepair]:
    """A regulator of the enterprise's region grants a pending application: the rule is lifted as
    CreateCreditRepair would (the same checks), and the application records the repair."""
    with uow:
        require_access(uow, principal, uscc)
        application = _application(uow, uscc, application_id)
        rule = repairable_rule(policy, application.rule_code, reason, prefix="")
        application.require_pending()
        granted = _grant(uow, policy, principal, uscc, rule, reason, now, "", application.name)
        decided = application.granted(granted.repair)
        if not uow.applications.save(decided, application.state):
            raise concurrent_change(application.name)  # decided meanwhile: the repair rolls back too
        uow.commit()
    return decided, granted


def refuse_application(
    uow: ScoringUoW, principal: Principal, uscc: str, application_id: str, reason: str, now: datetime
) -> RepairApplication:
    with uow:
        require_access(uow, principal, uscc)
        application = _application(uow, uscc, application_id)
        refused = application.refused(reason, principal.subject, now)
        payload = events_pb2.CreditRepairRefused(
            application=refused.name, decided_by=principal.subject, reason=reason
        )
        if not uow.applications.save(refused, application.state):
            raise concurrent_change(application.name)
        uow.add_event(TOPIC, new_event(SOURCE, uscc, payload, occurred_at=now))
        uow.commit()
    return refused


def list_applications(
    uow: ScoringUoW, principal: Principal, uscc: str | None, filter_text: str, page_size: int, page_token: str
) -> DecisionPage[RepairApplication]:
    """A page of applications, oldest first: a regulator's queue of their region, an enterprise's own."""
    return list_decisions(
        uow,
        principal,
        APPLICATIONS,
        uscc,
        filter_text,
        page_size,
        page_token,
        fetch=lambda query, limit, after: uow.applications.list(query, limit, after),
        cursor_of=lambda application: DecisionCursor(application.created_at, application.id),
    )


def _application(uow: ScoringUoW, uscc: str, application_id: str) -> RepairApplication:
    application = uow.applications.get(application_id)
    if application is None or application.uscc != uscc:
        raise not_found(credit_repair_application_name(uscc, application_id))
    return application
