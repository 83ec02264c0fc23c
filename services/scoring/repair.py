"""Credit repair (信用修复): a regulator lifts a hard rule once the evidence is old enough. No gRPC here.

The repair becomes an event in the enterprise's history (CreditRepairGranted), so grades stay a pure
function of the history: replays and recomputes see the repair at the time it was granted. The same
event is published on the scoring topic for other government systems.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from integrity.events.v1 import events_pb2
from services.scoring.domain.features import compute_features
from services.scoring.domain.grades import Grade
from services.scoring.domain.grading import triggered_hard_rules
from services.scoring.domain.policy import Policy
from services.scoring.handlers import SOURCE, ScoringEventHandler
from services.scoring.manifest import TOPIC
from services.scoring.repository import ScoringRepository
from services.scoring.tables import CreditRepairRow
from shared.errors import FieldViolation, failed_precondition, invalid_argument, not_found
from shared.events import new_event
from shared.outbox import add_event


@dataclass(frozen=True)
class GrantedRepair:
    row: CreditRepairRow
    grade: Grade


def credit_repair_name(uscc: str, repair_id: str) -> str:
    return f"enterprises/{uscc}/creditRepairs/{repair_id}"


def find_by_request_id(session: Session, uscc: str, request_id: str) -> CreditRepairRow | None:
    if not request_id:
        return None
    statement = select(CreditRepairRow).where(
        CreditRepairRow.uscc == uscc, CreditRepairRow.request_id == request_id
    )
    return session.exec(statement).first()


def grant_credit_repair(
    session: Session,
    policy: Policy,
    uscc: str,
    rule_code: str,
    reason: str,
    decided_by: str,
    now: datetime,
    request_id: str = "",
) -> GrantedRepair:
    """Lifts `rule_code` for the enterprise as of `now`; raises INVALID_ARGUMENT, NOT_FOUND or
    FAILED_PRECONDITION (rule not in force, or its evidence too recent) and then changes nothing."""
    repository = ScoringRepository(session)
    repeated = find_by_request_id(session, uscc, request_id)
    if repeated is not None:
        grade = repository.get_grade(uscc)
        assert grade is not None  # a repair is only granted to a graded enterprise
        return GrantedRepair(repeated, grade)

    repairable = {rule.code: rule for rule in policy.hard_rules if rule.repair_after_years > 0}
    violations = []
    if rule_code not in repairable:
        violations.append(FieldViolation("credit_repair.rule_code", f"must be one of {sorted(repairable)}"))
    if not reason.strip():
        violations.append(
            FieldViolation("credit_repair.reason", "is required: say why the repair is granted")
        )
    if violations:
        raise invalid_argument(violations)
    if repository.get_enterprise(uscc) is None or repository.get_grade(uscc) is None:
        raise not_found(f"enterprises/{uscc}")

    rule = repairable[rule_code]
    features = compute_features(repository.history(uscc), now)
    if rule not in triggered_hard_rules(policy, features, now):
        raise failed_precondition(
            f"hard rule {rule_code} is not in force for enterprise {uscc}: nothing to repair",
            "RULE_NOT_IN_FORCE",
        )
    evidence = {
        "SERIOUS_VIOLATION": features.last_serious_violation,
        "REFUSED_INSPECTION": features.last_refused_inspection,
        "FALSE_CAPABILITY_DECLARATION": features.last_false_capability,
    }[rule_code]
    assert evidence is not None  # the rule is in force
    earliest = evidence + timedelta(days=365.25 * rule.repair_after_years)
    if now < earliest:
        raise failed_precondition(
            f"{rule_code} for enterprise {uscc} can be repaired from {earliest.date().isoformat()} "
            f"({rule.repair_after_years:g} years after the evidence of {evidence.date().isoformat()})",
            "REPAIR_TOO_EARLY",
        )

    repair_id = str(uuid.uuid4())
    payload = events_pb2.CreditRepairGranted(
        credit_repair=credit_repair_name(uscc, repair_id),
        rule_code=rule_code,
        decided_by=decided_by,
        reason=reason,
    )
    event = new_event(SOURCE, uscc, payload, occurred_at=now)
    # The repair joins the history like any source event and regrades the enterprise in this transaction.
    ScoringEventHandler(policy).handle(session, event, TOPIC)
    add_event(session, TOPIC, event)
    row = CreditRepairRow(
        id=repair_id,
        uscc=uscc,
        rule_code=rule_code,
        reason=reason,
        decided_by=decided_by,
        request_id=request_id,
        created_at=now,
        event_id=event.id,
    )
    session.add(row)
    grade = repository.get_grade(uscc)
    assert grade is not None
    return GrantedRepair(row, grade)
