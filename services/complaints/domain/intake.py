"""Intake: what a valid complaint is when it is filed, and who filed it.

A complaint arrives as a `ComplaintDraft` (unchecked) and leaves `validate_intake` as an `Intake` in
canonical form, with every violated rule listed at once. The complainant's contact is a separate value
(`Contact`) that a complaint never holds; it keeps only `complainant_key`, a one-way digest used to spot
repeats.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrity.complaints.v1 import complaints_pb2
from shared.auth import Principal, Role
from shared.errors import FieldViolation, invalid_argument
from shared.idempotency import request_id_problem
from shared.uscc import uscc_problem

ENTERPRISE_PREFIX = "enterprises/"
DESCRIPTION_MAX = 4000
LOCATION_MAX = 200
EVIDENCE_MAX = 20
EVIDENCE_URI_MAX = 500
CONTACT_NAME_MAX = 50
EARLIEST_OCCURRENCE = datetime(1949, 10, 1, tzinfo=UTC)
# Clocks of filing systems drift; an occurrence a little in the future is accepted as "now".
CLOCK_SKEW = timedelta(minutes=10)

S = complaints_pb2
CATEGORIES = frozenset(v for v in S.ComplaintCategory.values() if v != 0)
CHANNELS = frozenset(v for v in S.ComplaintChannel.values() if v != 0)

_PHONE = re.compile(r"\+?[0-9][0-9 \-]{3,18}[0-9]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})


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


def region_of(uscc: str) -> str:
    """Characters 3-8 of a USCC: the administrative division where it was registered."""
    return uscc[2:8]


# --- field rules (also used by the workflow and by history import) --------------------------------


def text_problem(text: str, maximum: int, *, required: bool, allow_newlines: bool) -> str | None:
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


def enum_problem(value: int, known: frozenset[int], enum_name: str) -> str | None:
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


def contact_violations(contact: Contact | None) -> list[FieldViolation]:
    if contact is None:
        return []
    violations = []
    name_problem = text_problem(contact.display_name, CONTACT_NAME_MAX, required=False, allow_newlines=False)
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
    check("complaint.category", enum_problem(draft.category, CATEGORIES, "ComplaintCategory"))
    check("complaint.channel", enum_problem(draft.channel, CHANNELS, "ComplaintChannel"))
    check(
        "complaint.description",
        text_problem(description, DESCRIPTION_MAX, required=True, allow_newlines=True),
    )
    check("complaint.occur_time", _occur_time_problem(draft.occur_time, now))
    check("complaint.location", text_problem(location, LOCATION_MAX, required=False, allow_newlines=False))
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
