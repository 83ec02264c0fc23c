"""The serious-dishonesty list (严重违法失信名单): the national credit system lists an enterprise, and later
removes it, each with who, when (the effective time) and why.

A listing becomes a DishonestyListed event in the enterprise's history and a removal a DishonestyRemoved
event, so grades stay a pure function of the history: the policy's SERIOUS_DISHONESTY_LIST rule holds from
the listing's effective time until the removal's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.scoring.domain.names import dishonesty_listing_name
from shared.errors import FieldViolation, failed_precondition, invalid_argument

TEXT_MAX = 4000
REFERENCE_MAX = 200
# A clock a little ahead of ours is not "the future".
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class DishonestyListing:
    id: str
    uscc: str
    reason: str
    decision_reference: str  # the listing decision's document number
    authority: str
    listed_at: datetime  # when the listing took effect
    listed_by: str
    request_id: str  # AIP-155 idempotency key of the listing, empty when none was given
    event_id: str  # the DishonestyListed event
    removed_at: datetime | None = None  # when the removal took effect
    removed_by: str = ""
    removal_reason: str = ""
    removal_event_id: str = ""

    @property
    def name(self) -> str:
        return dishonesty_listing_name(self.uscc, self.id)

    @property
    def active(self) -> bool:
        return self.removed_at is None

    def removed(self, reason: str, removed_by: str, removed_at: datetime, event_id: str) -> DishonestyListing:
        return replace(
            self,
            removed_at=removed_at,
            removed_by=removed_by,
            removal_reason=reason,
            removal_event_id=event_id,
        )


def check_listing(
    reason: str, decision_reference: str, authority: str, listed_at: datetime, now: datetime
) -> None:
    """INVALID_ARGUMENT naming every wrong field of a listing (fields of `dishonesty_listing`)."""
    prefix = "dishonesty_listing."
    violations = _text(prefix + "reason", reason, TEXT_MAX, "say why the enterprise is listed")
    violations += _text(
        prefix + "decision_reference", decision_reference, REFERENCE_MAX, "the listing decision's number"
    )
    if len(authority) > REFERENCE_MAX:
        violations.append(FieldViolation(prefix + "authority", f"must be at most {REFERENCE_MAX} characters"))
    if listed_at > now + CLOCK_SKEW:
        violations.append(
            FieldViolation(prefix + "list_time", f"must not be in the future (now {now.isoformat()})")
        )
    if violations:
        raise invalid_argument(violations)


def check_removal(listing: DishonestyListing, reason: str, removed_at: datetime, now: datetime) -> None:
    """INVALID_ARGUMENT for a wrong reason or time; FAILED_PRECONDITION when it was removed already."""
    violations = _text("reason", reason, TEXT_MAX, "say why the enterprise is removed")
    if removed_at > now + CLOCK_SKEW:
        violations.append(FieldViolation("remove_time", f"must not be in the future (now {now.isoformat()})"))
    elif removed_at <= listing.listed_at:
        violations.append(
            FieldViolation(
                "remove_time", f"must be after the listing took effect ({listing.listed_at.isoformat()})"
            )
        )
    if violations:
        raise invalid_argument(violations)
    if not listing.active:
        assert listing.removed_at is not None
        raise failed_precondition(
            f"{listing.name} was already removed at {listing.removed_at.isoformat()}", "ALREADY_REMOVED"
        )


def _text(field: str, text: str, limit: int, what: str) -> list[FieldViolation]:
    if not text.strip():
        return [FieldViolation(field, f"is required: {what}")]
    if len(text) > limit:
        return [FieldViolation(field, f"must be at most {limit} characters")]
    return []
