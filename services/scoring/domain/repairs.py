"""Credit repair (信用修复): a regulator lifts a time-bound hard rule once its evidence is old enough.

The repair becomes an event in the enterprise's history (CreditRepairGranted), so grades stay a pure
function of the history: replays and recomputes see the repair at the time it was granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scoring.domain.features import Features
from services.scoring.domain.grading import hard_rule_evidence, triggered_hard_rules
from services.scoring.domain.names import credit_repair_name
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


def repairable_rule(policy: Policy, rule_code: str, reason: str) -> HardRule:
    """The rule a repair request names; INVALID_ARGUMENT unless it may be repaired and a reason is given."""
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
    return repairable[rule_code]


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
