"""Complaints: what a valid complaint is, the workflow's transition table, deadlines and duplicates.

Pure: no gRPC, no database. Enum values are those of `integrity.complaints.v1` (one source of truth).
The complainant's contact is a separate value (`Contact`) that a `Complaint` never holds; a complaint
keeps only `complainant_key`, a one-way digest used to spot repeats.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from integrity.complaints.v1 import complaints_pb2
from shared.auth import Principal, Role
from shared.errors import ErrorKind, FieldViolation, IntegrityError, invalid_argument
from shared.uscc import uscc_problem

RESOURCE_PREFIX = "complaints/"
ENTERPRISE_PREFIX = "enterprises/"
DESCRIPTION_MAX = 4000
LOCATION_MAX = 200
REASON_MAX = 2000
EVIDENCE_MAX = 20
EVIDENCE_URI_MAX = 500
CONTACT_NAME_MAX = 50
EARLIEST_OCCURRENCE = datetime(1949, 10, 1, tzinfo=UTC)
# Clocks of filing systems drift; an occurrence a little in the future is accepted as "now".
CLOCK_SKEW = timedelta(minutes=10)
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

CATEGORIES = frozenset(v for v in S.ComplaintCategory.values() if v != 0)
CHANNELS = frozenset(v for v in S.ComplaintChannel.values() if v != 0)
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

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{3,18}[0-9]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_ID = re.compile(r"[0-9a-f]{24}")
_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})


def state_label(state: int) -> str:
    """RECEIVED, ACCEPTED, ... for messages."""
    return S.ComplaintState.Name(state).removeprefix("COMPLAINT_STATE_")  # type: ignore[arg-type]


@dataclass(frozen=True)
class Contact:
    """How to reach the complainant. Never in a `Complaint`, an event or a log line."""

    display_name: str
    phone: str


@dataclass(frozen=True)
class ComplaintDraft:
    """A complaint as the caller sent it, unchecked."""

    enterprise: str
    category: int
    channel: int
    description: str
    occur_time: datetime | None = None
    location: str = ""
    evidence_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intake:
    """A validated complaint in canonical form."""

    uscc: str
    category: int
    channel: int
    description: str
    occur_time: datetime | None
    location: str
    evidence_uris: tuple[str, ...]

    @property
    def region_code(self) -> str:
        return region_of(self.uscc)


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

    @property
    def name(self) -> str:
        return complaint_name(self.id)

    @property
    def region_code(self) -> str:
        return region_of(self.uscc)

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


def complaint_name(complaint_id: str) -> str:
    return RESOURCE_PREFIX + complaint_id


def region_of(uscc: str) -> str:
    """Characters 3-8 of a USCC: the administrative division where it was registered."""
    return uscc[2:8]


# --- validation -----------------------------------------------------------------------------------


def _text_problem(text: str, maximum: int, *, required: bool, allow_newlines: bool) -> str | None:
    if not text:
        return "is required" if required else None
    if len(text) > maximum:
        return f"must be at most {maximum} characters, got {len(text)}"
    allowed = {"\n", "\t"} if allow_newlines else set()
    bad = sorted(
        {f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in _FORBIDDEN and c not in allowed}
    )
    if bad:
        return f"must not contain control characters, found {', '.join(bad[:5])}"
    return None


def _enum_problem(value: int, known: frozenset[int], enum_name: str) -> str | None:
    if value == 0:
        return f"is required, one of the {enum_name} values"
    if value not in known:
        return f"{value} is not a known {enum_name} value"
    return None


def _occur_time_problem(moment: datetime | None, now: datetime) -> str | None:
    if moment is None:
        return None
    if moment > now + CLOCK_SKEW:
        return f"{moment.isoformat()} is in the future"
    if moment < EARLIEST_OCCURRENCE:
        return f"must not be before {EARLIEST_OCCURRENCE.date().isoformat()}"
    return None


def _evidence_problems(uris: tuple[str, ...]) -> list[FieldViolation]:
    if len(uris) > EVIDENCE_MAX:
        return [
            FieldViolation("complaint.evidence_uris", f"at most {EVIDENCE_MAX} references, got {len(uris)}")
        ]
    problems = []
    for index, uri in enumerate(uris):
        if len(uri) > EVIDENCE_URI_MAX or not _URI.fullmatch(uri):
            problems.append(
                FieldViolation(
                    f"complaint.evidence_uris[{index}]",
                    f"must be a URI with a scheme (e.g. https://..., urn:12315:...), "
                    f"at most {EVIDENCE_URI_MAX} characters",
                )
            )
    return problems


def enterprise_problem(enterprise: str) -> str | None:
    if not enterprise:
        return "is required, e.g. enterprises/91610112MA6TXXXX0X"
    if not enterprise.startswith(ENTERPRISE_PREFIX):
        return f"must be a resource name like enterprises/91610112MA6TXXXX0X, got {enterprise[:60]!r}"
    inner = uscc_problem(enterprise[len(ENTERPRISE_PREFIX) :])
    return f"the USCC after enterprises/ is invalid: {inner}" if inner else None


def request_id_problem(request_id: str) -> str | None:
    if request_id and not _UUID.fullmatch(request_id):
        return "must be empty or a UUID, e.g. 3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81 (AIP-155)"
    return None


def contact_violations(contact: Contact | None) -> list[FieldViolation]:
    if contact is None:
        return []
    violations = []
    name_problem = _text_problem(contact.display_name, CONTACT_NAME_MAX, required=False, allow_newlines=False)
    if name_problem:
        violations.append(FieldViolation("complainant.display_name", name_problem))
    if contact.phone and not _PHONE.fullmatch(contact.phone):
        violations.append(
            FieldViolation("complainant.phone", 'must be 5-20 digits, spaces or "-", optionally after "+"')
        )
    return violations


def normalize_contact(contact: Contact | None) -> Contact | None:
    """The contact stripped; None when nothing was given (an anonymous complaint)."""
    if contact is None:
        return None
    stripped = Contact(contact.display_name.strip(), contact.phone.strip())
    return stripped if stripped.display_name or stripped.phone else None


def validate_intake(
    draft: ComplaintDraft, contact: Contact | None, request_id: str, now: datetime
) -> tuple[Intake, Contact | None]:
    """The complaint and contact in canonical form; INVALID_ARGUMENT listing every violated rule."""
    violations: list[FieldViolation] = []

    def check(field: str, problem: str | None) -> None:
        if problem is not None:
            violations.append(FieldViolation(field, problem))

    description = draft.description.strip()
    location = draft.location.strip()
    contact = normalize_contact(contact)
    check("complaint.enterprise", enterprise_problem(draft.enterprise))
    check("complaint.category", _enum_problem(draft.category, CATEGORIES, "ComplaintCategory"))
    check("complaint.channel", _enum_problem(draft.channel, CHANNELS, "ComplaintChannel"))
    check(
        "complaint.description",
        _text_problem(description, DESCRIPTION_MAX, required=True, allow_newlines=True),
    )
    check("complaint.occur_time", _occur_time_problem(draft.occur_time, now))
    check("complaint.location", _text_problem(location, LOCATION_MAX, required=False, allow_newlines=False))
    violations += _evidence_problems(draft.evidence_uris)
    violations += contact_violations(contact)
    check("request_id", request_id_problem(request_id))
    if violations:
        raise invalid_argument(violations)
    intake = Intake(
        uscc=draft.enterprise[len(ENTERPRISE_PREFIX) :],
        category=draft.category,
        channel=draft.channel,
        description=description,
        occur_time=draft.occur_time.astimezone(UTC) if draft.occur_time else None,
        location=location,
        evidence_uris=tuple(draft.evidence_uris),
    )
    return intake, contact


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


# --- intake ---------------------------------------------------------------------------------------


def complainant_key(contact: Contact | None, principal: Principal) -> str:
    """Who filed, as a one-way digest: the contact when given, else the system caller, else "anonymous".

    Anonymous public complaints share one key, so a flood of them against one enterprise and category
    is linked to the first and counted once.
    """
    if contact is not None:
        phone = re.sub(r"[^0-9]", "", contact.phone)
        basis = f"contact\x1f{phone}\x1f{contact.display_name.casefold()}"
    elif principal.role == Role.SYSTEM:
        basis = f"system\x1f{principal.subject}"
    else:
        return "anonymous"
    return hashlib.sha256(basis.encode()).hexdigest()


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def new_complaint_id(now: datetime) -> str:
    """24 hex digits: milliseconds since the epoch, then randomness, so ids sort by filing time."""
    return f"{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def compute_etag(complaint_id: str, state: int, update_time: datetime) -> str:
    basis = f"{complaint_id}\x1f{state}\x1f{update_time.isoformat()}"
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


def file_complaint(
    intake: Intake,
    *,
    contact: Contact | None,
    principal: Principal,
    now: datetime,
    request_id: str | None,
    duplicate_of: str | None,
) -> Complaint:
    """A new RECEIVED complaint; the enterprise is not matched against the registry yet."""
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
        match_status=UNMATCHED,
        state=RECEIVED,
        create_time=now,
        update_time=now,
        etag=compute_etag(complaint_id, RECEIVED, now),
    )


# --- workflow -------------------------------------------------------------------------------------


def _move(complaint: Complaint, target: int, now: datetime, **changes: object) -> Complaint:
    """The complaint in state `target`; FAILED_PRECONDITION naming what is allowed when not allowed."""
    allowed = TRANSITIONS[complaint.state]
    if target not in allowed:
        current = state_label(complaint.state)
        options = ", ".join(sorted(state_label(s) for s in allowed)) or "nothing (it is final)"
        raise IntegrityError(
            f"{complaint.name} is {current}; it cannot become {state_label(target)} "
            f"(from {current} it can become: {options})",
            "INVALID_STATE_TRANSITION",
            ErrorKind.FAILED_PRECONDITION,
            {
                "resource": complaint.name,
                "current_state": current,
                "requested_state": state_label(target),
                "allowed_states": ",".join(sorted(state_label(s) for s in allowed)),
            },
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
    problem = _text_problem(reason.strip(), REASON_MAX, required=True, allow_newlines=True)
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
    problem = _text_problem(
        resolution.resolution.strip(), DESCRIPTION_MAX, required=True, allow_newlines=True
    )
    if problem:
        violations.append(FieldViolation("resolution", problem))
    if resolution.substantiated:
        if (problem := _enum_problem(resolution.severity, SEVERITIES, "ComplaintSeverity")) is not None:
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


# --- deadlines ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """Per-state deadlines in calendar days (24-hour periods from the event; holidays are not skipped)."""

    accept_days: int = 7
    resolve_days: int = 60

    def due_time(self, complaint: Complaint) -> datetime | None:
        if complaint.state == RECEIVED:
            return complaint.create_time + timedelta(days=self.accept_days)
        if complaint.state in (ACCEPTED, INVESTIGATING) and complaint.accept_time is not None:
            return complaint.accept_time + timedelta(days=self.resolve_days)
        return None

    def is_overdue(self, complaint: Complaint, now: datetime) -> bool:
        due = self.due_time(complaint)
        return due is not None and due < now

    def received_before(self, now: datetime) -> datetime:
        """RECEIVED complaints created before this are overdue for acceptance."""
        return now - timedelta(days=self.accept_days)

    def accepted_before(self, now: datetime) -> datetime:
        """ACCEPTED or INVESTIGATING complaints accepted before this are overdue for resolution."""
        return now - timedelta(days=self.resolve_days)
