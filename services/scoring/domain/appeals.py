"""Appeals (申诉): an enterprise contests its grade; a regulator accepts (overriding the level until an
expiry time) or rejects, with a reason. Every step records who, when and why.

An accepted appeal becomes a GradeOverridden event in the enterprise's history, so grades stay a pure
function of the history; the override lapses by itself at its expiry (the next event or the daily
recompute regrades the enterprise).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.names import appeal_name
from services.scoring.domain.policy import Policy
from shared.errors import FieldViolation, failed_precondition, invalid_argument

PENDING, ACCEPTED, REJECTED = "PENDING", "ACCEPTED", "REJECTED"


@dataclass(frozen=True)
class Appeal:
    id: str
    uscc: str
    reason: str
    state: str  # PENDING, ACCEPTED or REJECTED (AppealState names without their prefix)
    appealed_level: GradeLevel
    filed_by: str
    request_id: str  # AIP-155 idempotency key of the filing, empty when none was given
    created_at: datetime
    decided_by: str = ""
    decision_reason: str = ""
    decided_at: datetime | None = None
    override_level: GradeLevel | None = None
    override_expire_at: datetime | None = None
    override_event_id: str = ""  # the GradeOverridden event of an accepted appeal

    @property
    def name(self) -> str:
        return appeal_name(self.uscc, self.id)

    def accepted(
        self,
        level: GradeLevel,
        expire_at: datetime,
        reason: str,
        decided_by: str,
        now: datetime,
        event_id: str,
    ) -> Appeal:
        self._require_pending()
        return replace(
            self,
            state=ACCEPTED,
            decided_by=decided_by,
            decision_reason=reason,
            decided_at=now,
            override_level=level,
            override_expire_at=expire_at,
            override_event_id=event_id,
        )

    def rejected(self, reason: str, decided_by: str, now: datetime) -> Appeal:
        require_reason(reason, "reason")
        self._require_pending()
        return replace(self, state=REJECTED, decided_by=decided_by, decision_reason=reason, decided_at=now)

    def _require_pending(self) -> None:
        if self.state != PENDING:
            raise failed_precondition(
                f"{self.name} was already {self.state.lower()}", "APPEAL_ALREADY_DECIDED"
            )


def new_appeal(uscc: str, grade: Grade, reason: str, filed_by: str, now: datetime, request_id: str) -> Appeal:
    """A pending appeal against `grade`, the enterprise's current one."""
    return Appeal(
        id=str(uuid.uuid4()),
        uscc=uscc,
        reason=reason,
        state=PENDING,
        appealed_level=grade.level,
        filed_by=filed_by,
        request_id=request_id,
        created_at=now,
    )


def override_expiry(
    policy: Policy, level: GradeLevel | None, expire_at: datetime | None, reason: str, now: datetime
) -> datetime:
    """When an override accepted `now` expires (the policy's default period unless given); INVALID_ARGUMENT
    naming every field that is wrong (no level, an expiry outside the policy's window, no reason)."""
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
    return expire_at


def require_reason(reason: str, field: str) -> None:
    if not reason.strip():
        raise invalid_argument([FieldViolation(field, "is required")])
