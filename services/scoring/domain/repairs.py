"""Credit repair (信用修复): a regulator lifts a time-bound hard rule once its evidence is old enough, on
their own initiative or on the enterprise's application with a new commitment letter (granted or refused,
with a reason).

The repair becomes an event in the enterprise's history (CreditRepairGranted), so grades stay a pure
function of the history: replays and recomputes see the repair at the time it was granted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.scoring.domain.features import Features
from services.scoring.domain.grading import hard_rule_evidence, triggered_hard_rules
from services.scoring.domain.names import credit_repair_application_name, credit_repair_name
from services.scoring.domain.policy import HardRule, Policy
from shared.errors import FieldViolation, failed_precondition, invalid_argument


@dataclass(frozen=True)
class CreditRepair:
    id: str
    uscc: str
    rule_code: str
    reason: str
    decided_by: str
    request_id: str  # AIP-155 idempotency key of the request, empty when none was given
    created_at: datetime
    event_id: str  # the CreditRepairGranted event

    @property
    def name(self) -> str:
        return credit_repair_name(self.uscc, self.id)


# CreditRepairApplicationState names without their prefix.
PENDING, GRANTED, REFUSED = "PENDING", "GRANTED", "REFUSED"
LETTER_MAX = 20_000


@dataclass(frozen=True)
class RepairApplication:
    """An enterprise's application for credit repair, and the regulator's decision."""

    id: str
    uscc: str
    rule_code: str
    commitment_letter: str  # the new commitment letter's text
    rectification_statement: str
    state: str  # PENDING, GRANTED or REFUSED
    applied_by: str
    request_id: str  # AIP-155 idempotency key of the application, empty when none was given
    created_at: datetime
    event_id: str  # the CreditRepairApplied event
    decided_by: str = ""
    decision_reason: str = ""
    decided_at: datetime | None = None
    credit_repair_id: str = ""  # the repair a grant made

    @property
    def name(self) -> str:
        return credit_repair_application_name(self.uscc, self.id)

    def granted(self, repair: CreditRepair) -> RepairApplication:
        self.require_pending()
        return replace(
            self,
            state=GRANTED,
            decided_by=repair.decided_by,
            decision_reason=repair.reason,
            decided_at=repair.created_at,
            credit_repair_id=repair.id,
        )

    def refused(self, reason: str, decided_by: str, now: datetime) -> RepairApplication:
        if violations := _text_violations("reason", reason, "say why the application is refused"):
            raise invalid_argument(violations)
        self.require_pending()
        return replace(self, state=REFUSED, decided_by=decided_by, decision_reason=reason, decided_at=now)

    def require_pending(self) -> None:
        """FAILED_PRECONDITION once decided."""
        if self.state != PENDING:
            raise failed_precondition(
                f"{self.name} was already {self.state.lower()}", "APPLICATION_ALREADY_DECIDED"
            )


def repairable_rule(policy: Policy, rule_code: str, reason: str, prefix: str = "credit_repair.") -> HardRule:
    """The rule a repair request names; INVALID_ARGUMENT unless it may be repaired and a reason is given."""
    violations = _text_violations(prefix + "reason", reason, "say why the repair is granted")
    return _repairable(policy, rule_code, prefix, violations)


def check_application(policy: Policy, rule_code: str, letter: str, statement: str) -> HardRule:
    """The rule an application names; INVALID_ARGUMENT naming every wrong field (the rule must be
    repairable, the commitment letter given)."""
    prefix = "credit_repair_application."
    violations = _text_violations(prefix + "commitment_letter", letter, "the new commitment letter's text")
    if len(statement) > LETTER_MAX:
        violations.append(
            FieldViolation(prefix + "rectification_statement", f"must be at most {LETTER_MAX} characters")
        )
    return _repairable(policy, rule_code, prefix, violations)


def _repairable(policy: Policy, rule_code: str, prefix: str, violations: list[FieldViolation]) -> HardRule:
    repairable = {rule.code: rule for rule in policy.hard_rules if rule.repair_after_years > 0}
    if rule_code not in repairable:
        violations.insert(0, FieldViolation(prefix + "rule_code", f"must be one of {sorted(repairable)}"))
    if violations:
        raise invalid_argument(violations)
    return repairable[rule_code]


def _text_violations(field: str, text: str, what: str) -> list[FieldViolation]:
    if not text.strip():
        return [FieldViolation(field, f"is required: {what}")]
    if len(text) > LETTER_MAX:
        return [FieldViolation(field, f"must be at most {LETTER_MAX} characters")]
    return []


def require_repairable(policy: Policy, rule: HardRule, features: Features, uscc: str, now: datetime) -> None:
    """FAILED_PRECONDITION unless `rule` is in force for the enterprise as of `now` and its evidence is
    old enough to be repaired."""
    if rule not in triggered_hard_rules(policy, features, now):
        raise failed_precondition(
            f"hard rule {rule.code} is not in force for enterprise {uscc}: nothing to repair",
            "RULE_NOT_IN_FORCE",
        )
    evidence = hard_rule_evidence(features)[rule.code]
    assert evidence is not None  # the rule is in force
    earliest = evidence + timedelta(days=365.25 * rule.repair_after_years)
    if now < earliest:
        raise failed_precondition(
            f"{rule.code} for enterprise {uscc} can be repaired from {earliest.date().isoformat()} "
            f"({rule.repair_after_years:g} years after the evidence of {evidence.date().isoformat()})",
            "REPAIR_TOO_EARLY",
        )
