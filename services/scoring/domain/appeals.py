"""Appeals (申诉): an enterprise contests its grade; a regulator accepts (overriding the level until an
expiry time) or rejects, with a reason; before an override expires a regulator reviews it (confirms,
shortens or lifts it). Every step records who, when and why.

An accepted appeal becomes a GradeOverridden event in the enterprise's history, and a review an
OverrideReviewed event, so grades stay a pure function of the history; the override lapses by itself at
its expiry (the next event or the daily recompute regrades the enterprise).
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
# OverrideReviewAction names without their prefix.
CONFIRM, SHORTEN, LIFT = "CONFIRM", "SHORTEN", "LIFT"
REVIEW_ACTIONS = (CONFIRM, SHORTEN, LIFT)
REASON_MAX = 4000


@dataclass(frozen=True)
class OverrideReview:
    """A regulator's review of an accepted appeal's override before it expired."""

    action: str  # CONFIRM, SHORTEN or LIFT
    previous_expire_at: datetime
    expire_at: datetime  # LIFT: the review's time
    reviewed_by: str
    reason: str
    reviewed_at: datetime
    event_id: str  # the OverrideReviewed event


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
    reviews: tuple[OverrideReview, ...] = ()  # oldest first

    @property
    def name(self) -> str:
        return appeal_name(self.uscc, self.id)

    def override_holds(self, now: datetime) -> bool:
        """Accepted, and its override has not expired (or been lifted) by `now`."""
        expiry = self.override_expire_at
        return self.state == ACCEPTED and expiry is not None and now < expiry

    def reviewed(self, review: OverrideReview) -> Appeal:
        """The appeal with `review` (checked by `check_review`) applied: its override now ends then."""
        return replace(self, override_expire_at=review.expire_at, reviews=(*self.reviews, review))

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
    if len(reason) > REASON_MAX:
        raise invalid_argument([FieldViolation(field, f"must be at most {REASON_MAX} characters")])


def check_review(
    appeal: Appeal, action: str, expire_at: datetime | None, reason: str, reviewed_by: str, now: datetime
) -> OverrideReview:
    """The review a regulator asks for, as of `now` (without its event id); INVALID_ARGUMENT naming every
    wrong field, FAILED_PRECONDITION unless the appeal was accepted and its override still holds."""
    violations = []
    if action not in REVIEW_ACTIONS:
        violations.append(
            FieldViolation("action", "is required: OVERRIDE_REVIEW_ACTION_CONFIRM, _SHORTEN or _LIFT")
        )
    if action == SHORTEN and expire_at is None:
        violations.append(FieldViolation("override_expire_time", "is required to shorten the override"))
    if action in (CONFIRM, LIFT) and expire_at is not None:
        violations.append(
            FieldViolation("override_expire_time", f"must be unset to {action.lower()} the override")
        )
    if not reason.strip():
        violations.append(FieldViolation("reason", "is required: say why"))
    elif len(reason) > REASON_MAX:
        violations.append(FieldViolation("reason", f"must be at most {REASON_MAX} characters"))
    if violations:
        raise invalid_argument(violations)
    if appeal.state != ACCEPTED:
        raise failed_precondition(
            f"{appeal.name} is {appeal.state.lower()}; only an accepted appeal's override can be reviewed",
            "APPEAL_NOT_ACCEPTED",
        )
    current = appeal.override_expire_at
    assert current is not None  # an accepted appeal has an override
    if not appeal.override_holds(now):
        raise failed_precondition(
            f"the override of {appeal.name} ended at {current.isoformat()}; there is nothing to review",
            "OVERRIDE_ENDED",
        )
    new_expiry = {CONFIRM: current, LIFT: now}.get(action, expire_at)
    assert new_expiry is not None
    if action == SHORTEN and not now < new_expiry < current:
        raise invalid_argument(
            [
                FieldViolation(
                    "override_expire_time",
                    f"must be after now and before the current expiry {current.isoformat()}",
                )
            ]
        )
    return OverrideReview(action, current, new_expiry, reviewed_by, reason, now, event_id="")
