"""The complaint and its lifecycle: filing, the workflow's transition table, names, receipts and etags.

Enum values are those of `integrity.complaints.v1` (one source of truth). A complaint never holds the
complainant's contact (see `intake`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from integrity.complaints.v1 import complaints_pb2
from services.complaints.domain.intake import (
    DESCRIPTION_MAX,
    Contact,
    Intake,
    complainant_key,
    enum_problem,
    region_of,
    text_problem,
)
from shared.auth import Principal, Role
from shared.errors import FieldViolation, invalid_argument, invalid_transition

RESOURCE_PREFIX = "complaints/"
REASON_MAX = 2000
# Receipt codes: 12 characters from 32 unambiguous ones (no 0/O, 1/I) = 60 random bits.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 12

S = complaints_pb2
RECEIVED, ACCEPTED, REJECTED = (
    S.COMPLAINT_STATE_RECEIVED,
    S.COMPLAINT_STATE_ACCEPTED,
    S.COMPLAINT_STATE_REJECTED,
)
INVESTIGATING, RESOLVED, CLOSED = (
    S.COMPLAINT_STATE_INVESTIGATING,
    S.COMPLAINT_STATE_RESOLVED,
    S.COMPLAINT_STATE_CLOSED,
)
UNMATCHED = S.ENTERPRISE_MATCH_STATUS_UNMATCHED
MATCHED = S.ENTERPRISE_MATCH_STATUS_MATCHED
SEVERITIES = frozenset(v for v in S.ComplaintSeverity.values() if v != 0)

# The workflow. Anything not listed is refused and changes nothing.
TRANSITIONS: dict[int, frozenset[int]] = {
    RECEIVED: frozenset({ACCEPTED, REJECTED}),
    ACCEPTED: frozenset({INVESTIGATING, RESOLVED}),
    INVESTIGATING: frozenset({RESOLVED}),
    RESOLVED: frozenset({CLOSED}),
    REJECTED: frozenset({CLOSED}),
    CLOSED: frozenset(),
}
OPEN_STATES = frozenset({RECEIVED, ACCEPTED, INVESTIGATING})
# What an enterprise may see of complaints against it: only decided cases.
ENTERPRISE_VISIBLE_STATES = frozenset({RESOLVED, CLOSED})

_ID = re.compile(r"[0-9a-f]{24}")


def state_label(state: int) -> str:
    """RECEIVED, ACCEPTED, ... for messages."""
    return S.ComplaintState.Name(state).removeprefix("COMPLAINT_STATE_")  # type: ignore[arg-type]


@dataclass(frozen=True)
class Complaint:
    id: str
    uscc: str
    category: int
    channel: int
    description: str
    occur_time: datetime | None
    location: str
    evidence_uris: tuple[str, ...]
    anonymous: bool
    complainant_key: str
    filer_subject: str
    filer_role: str
    receipt_code: str
    request_id: str | None
    duplicate_of: str | None
    match_status: int
    state: int
    create_time: datetime
    update_time: datetime
    etag: str
    accept_time: datetime | None = None
    resolve_time: datetime | None = None
    rejection_reason: str = ""
    substantiated: bool = False
    severity: int = 0
    resolution: str = ""
    reward_eligible: bool = False
    # The enterprise's registered region once matched (its regulators handle the complaint); until then
    # the division that issued the USCC.
    region_code: str = ""

    def __post_init__(self) -> None:
        if not self.region_code:
            object.__setattr__(self, "region_code", region_of(self.uscc))

    @property
    def name(self) -> str:
        return complaint_name(self.id)

    @property
    def intake(self) -> Intake:
        return Intake(
            self.uscc,
            self.category,
            self.channel,
            self.description,
            self.occur_time,
            self.location,
            self.evidence_uris,
        )

    def is_filer(self, principal: Principal) -> bool:
        """True for the system caller that filed it (the public has no identity to recognise later)."""
        return (
            principal.role == Role.SYSTEM
            and self.filer_role == Role.SYSTEM
            and self.filer_subject == principal.subject
        )


@dataclass(frozen=True)
class ComplaintQuery:
    """Which complaints to list; None means any. `region_code` includes the region's children."""

    uscc: str | None = None
    region_code: str | None = None
    state: int | None = None
    category: int | None = None
    duplicate: bool | None = None
    # Set by authorization, never by the filter: a system caller sees what it filed, an enterprise
    # only decided complaints against itself.
    filer_subject: str | None = None
    states: frozenset[int] | None = None

    def scoped(self, **changes: object) -> ComplaintQuery:
        return replace(self, **changes)  # type: ignore[arg-type]


# --- names, receipts, identifiers ------------------------------------------------------------------


def complaint_name(complaint_id: str) -> str:
    return RESOURCE_PREFIX + complaint_id


def parse_complaint_name(name: str, field: str = "name") -> str:
    """The id in `complaints/{id}`; INVALID_ARGUMENT on `field` when malformed."""
    if name.startswith(RESOURCE_PREFIX) and _ID.fullmatch(name[len(RESOURCE_PREFIX) :]):
        return name[len(RESOURCE_PREFIX) :]
    raise invalid_argument(
        [
            FieldViolation(
                field, f"must be a complaint name like complaints/0193a1b2c3d4e5f6a7b8c9d0, got {name[:60]!r}"
            )
        ]
    )


def is_complaint_id(text: str) -> bool:
    return bool(_ID.fullmatch(text))


def normalize_receipt(code: str) -> str:
    """The receipt code in canonical form (upper case, no spaces); INVALID_ARGUMENT when malformed."""
    canonical = code.replace(" ", "").replace("-", "").upper()
    if len(canonical) != RECEIPT_LENGTH or any(c not in RECEIPT_ALPHABET for c in canonical):
        raise invalid_argument(
            [
                FieldViolation(
                    "receipt_code", f"must be the {RECEIPT_LENGTH}-character code from CreateComplaint"
                )
            ]
        )
    return canonical


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def new_complaint_id(now: datetime) -> str:
    """24 hex digits: milliseconds since the epoch, then randomness, so ids sort by filing time."""
    return f"{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def compute_etag(complaint_id: str, state: int, update_time: datetime) -> str:
    basis = f"{complaint_id}\x1f{state}\x1f{update_time.isoformat()}"
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


# --- the lifecycle ---------------------------------------------------------------------------------


def file_complaint(
    intake: Intake,
    *,
    contact: Contact | None,
    principal: Principal,
    now: datetime,
    request_id: str | None,
    duplicate_of: str | None,
    registered_region: str | None = None,
) -> Complaint:
    """A new RECEIVED complaint: MATCHED in the enterprise's `registered_region` when the registry knows
    it, else UNMATCHED in the division that issued its USCC."""
    now = now.astimezone(UTC)
    complaint_id = new_complaint_id(now)
    return Complaint(
        id=complaint_id,
        uscc=intake.uscc,
        category=intake.category,
        channel=intake.channel,
        description=intake.description,
        occur_time=intake.occur_time,
        location=intake.location,
        evidence_uris=intake.evidence_uris,
        anonymous=contact is None,
        complainant_key=complainant_key(contact, principal),
        filer_subject=principal.subject,
        filer_role=str(principal.role),
        receipt_code=new_receipt_code(),
        request_id=request_id,
        duplicate_of=duplicate_of,
        match_status=UNMATCHED if registered_region is None else MATCHED,
        region_code=registered_region or region_of(intake.uscc),
        state=RECEIVED,
        create_time=now,
        update_time=now,
        etag=compute_etag(complaint_id, RECEIVED, now),
    )


def _move(complaint: Complaint, target: int, now: datetime, **changes: object) -> Complaint:
    """The complaint in state `target`; FAILED_PRECONDITION naming what is allowed when not allowed."""
    allowed = TRANSITIONS[complaint.state]
    if target not in allowed:
        raise invalid_transition(
            complaint.name,
            state_label(complaint.state),
            state_label(target),
            (state_label(s) for s in allowed),
        )
    now = now.astimezone(UTC)
    return replace(
        complaint,
        state=target,
        update_time=now,
        etag=compute_etag(complaint.id, target, now),
        **changes,  # type: ignore[arg-type]
    )


def accept(complaint: Complaint, now: datetime) -> Complaint:
    return _move(complaint, ACCEPTED, now, accept_time=now.astimezone(UTC))


def check_reason(reason: str) -> None:
    """INVALID_ARGUMENT on `reason` unless it is a usable rejection reason."""
    problem = text_problem(reason.strip(), REASON_MAX, required=True, allow_newlines=True)
    if problem:
        raise invalid_argument([FieldViolation("reason", problem)])


def reject(complaint: Complaint, reason: str, now: datetime) -> Complaint:
    check_reason(reason)
    return _move(complaint, REJECTED, now, rejection_reason=reason.strip())


def investigate(complaint: Complaint, now: datetime) -> Complaint:
    return _move(complaint, INVESTIGATING, now)


@dataclass(frozen=True)
class Resolution:
    substantiated: bool
    severity: int
    resolution: str
    reward_eligible: bool = False


def resolution_violations(resolution: Resolution) -> list[FieldViolation]:
    violations = []
    problem = text_problem(resolution.resolution.strip(), DESCRIPTION_MAX, required=True, allow_newlines=True)
    if problem:
        violations.append(FieldViolation("resolution", problem))
    if resolution.substantiated:
        if (problem := enum_problem(resolution.severity, SEVERITIES, "ComplaintSeverity")) is not None:
            violations.append(FieldViolation("severity", f"{problem} (a substantiated complaint needs one)"))
    else:
        if resolution.severity != 0:
            violations.append(
                FieldViolation("severity", "must be unset when the complaint is not substantiated")
            )
        if resolution.reward_eligible:
            violations.append(FieldViolation("reward_eligible", "only a substantiated report earns a reward"))
    return violations


def resolve(complaint: Complaint, resolution: Resolution, now: datetime) -> Complaint:
    if violations := resolution_violations(resolution):
        raise invalid_argument(violations)
    return _move(
        complaint,
        RESOLVED,
        now,
        substantiated=resolution.substantiated,
        severity=resolution.severity if resolution.substantiated else 0,
        resolution=resolution.resolution.strip(),
        reward_eligible=resolution.reward_eligible,
        resolve_time=now.astimezone(UTC),
    )


def close(complaint: Complaint, now: datetime) -> Complaint:
    return _move(complaint, CLOSED, now)


def match(complaint: Complaint, region_code: str, now: datetime) -> Complaint:
    """The complaint matched to its enterprise, registered in `region_code`, in whatever state it is."""
    now = now.astimezone(UTC)
    return replace(
        complaint,
        match_status=MATCHED,
        region_code=region_code,
        update_time=now,
        etag=compute_etag(complaint.id, complaint.state, now),
    )
