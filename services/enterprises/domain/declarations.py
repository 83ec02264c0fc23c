"""Enterprises' self-declarations: integrity commitments and capability declarations. Pure.

Each gets a public code that anyone can look up, so a customer can check the commitment on a
shop-front sign. A declaration is never edited: a commitment can only be withdrawn (it stays on
record), and a new capability declaration supersedes older ones without erasing them.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2 as pb
from services.enterprises.domain.enterprise import RESOURCE_PREFIX, parse_enterprise_name
from services.enterprises.domain.values import is_one_line, parse_date
from shared.errors import FieldViolation, failed_precondition, invalid_argument

FREE_TEXT_MAX = 2000
CERTIFICATE_MAX = 64
LONGEST_COMMITMENT = timedelta(days=5 * 366)
COUNT_MAX = 1_000_000
# Public codes: a kind prefix and ten characters without look-alikes (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
COMMITMENT_CODE, CAPABILITY_CODE = "CMT", "CAP"
PUBLIC_CODE = re.compile(rf"(?:{COMMITMENT_CODE}|{CAPABILITY_CODE})-[{CODE_ALPHABET}]{{10}}")
DECLARATION_ID = re.compile(r"[0-9a-f]{16}")
ITEMS = frozenset(v for v in pb.CommitmentItem.values() if v != 0)


@dataclass(frozen=True)
class CommitmentDraft:
    items: tuple[int, ...]
    free_text: str
    valid_from: str
    valid_until: str


@dataclass(frozen=True)
class Commitment:
    commitment_id: str
    uscc: str
    items: tuple[int, ...]
    free_text: str
    valid_from: date
    valid_until: date
    public_code: str
    create_time: datetime
    withdraw_time: datetime | None = None
    request_id: str | None = None

    @property
    def name(self) -> str:
        return f"{RESOURCE_PREFIX}{self.uscc}/commitments/{self.commitment_id}"


@dataclass(frozen=True)
class CapabilityDraft:
    has_management_system: bool
    iso10012_certificate_number: str
    instrument_count: int
    metrology_staff_count: int
    in_house_calibration: bool


@dataclass(frozen=True)
class CapabilityDeclaration:
    declaration_id: str
    uscc: str
    has_management_system: bool
    iso10012_certificate_number: str
    instrument_count: int
    metrology_staff_count: int
    in_house_calibration: bool
    public_code: str
    declare_time: datetime
    request_id: str | None = None

    @property
    def name(self) -> str:
        return f"{RESOURCE_PREFIX}{self.uscc}/capabilityDeclarations/{self.declaration_id}"


def new_public_code(kind: str) -> str:
    return f"{kind}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def code_of_kind(text: str, kind: str) -> str | None:
    """`text` in canonical form when it is a public code of `kind` (COMMITMENT_CODE or CAPABILITY_CODE)."""
    code = text.strip().upper()
    return code if code.startswith(kind) and PUBLIC_CODE.fullmatch(code) else None


def normalize_public_code(text: str) -> str:
    """The code in canonical form; INVALID_ARGUMENT on `public_code` when it cannot be one."""
    code = text.strip().upper()
    if not PUBLIC_CODE.fullmatch(code):
        raise invalid_argument(
            [FieldViolation("public_code", "must be a code like CMT-7KQ2M9XHPA or CAP-7KQ2M9XHPA")]
        )
    return code


def parse_commitment_name(name: str, field: str = "name") -> tuple[str, str]:
    """(uscc, commitment_id) of `enterprises/{uscc}/commitments/{id}`; INVALID_ARGUMENT on `field`."""
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "commitments" or not DECLARATION_ID.fullmatch(parts[3]):
        shown = name[:80]
        raise invalid_argument(
            [FieldViolation(field, f"must be enterprises/{{uscc}}/commitments/{{id}}, got {shown!r}")]
        )
    return parse_enterprise_name("/".join(parts[:2]), field), parts[3]


def capability_id(name: str, uscc: str, field: str = "declaration.name") -> str:
    """The declaration id in `enterprises/{uscc}/capabilityDeclarations/{id}`; INVALID_ARGUMENT on `field`."""
    prefix = f"{RESOURCE_PREFIX}{uscc}/capabilityDeclarations/"
    if name.startswith(prefix) and DECLARATION_ID.fullmatch(name[len(prefix) :]):
        return name[len(prefix) :]
    raise invalid_argument([FieldViolation(field, f"must be {prefix}{{16 hex digits}}, got {name[:80]!r}")])


def _free_text_problem(text: str) -> str | None:
    if len(text) > FREE_TEXT_MAX:
        return f"must be at most {FREE_TEXT_MAX} characters, got {len(text)}"
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text):
        return "must not contain control characters"
    return None


def validate_commitment(draft: CommitmentDraft, today: date, prefix: str = "commitment") -> CommitmentDraft:
    """The draft with its items deduplicated and sorted; INVALID_ARGUMENT listing every problem."""
    violations: list[FieldViolation] = []

    def check(field: str, problem: str | None) -> None:
        if problem is not None:
            violations.append(FieldViolation(f"{prefix}.{field}", problem))

    unknown = sorted({i for i in draft.items if i not in ITEMS})
    if not draft.items:
        check("items", "is required: at least one CommitmentItem from the catalogue")
    elif unknown:
        check("items", f"{', '.join(map(str, unknown[:5]))} not in the CommitmentItem catalogue")
    check("free_text", _free_text_problem(draft.free_text))
    start, start_problem = parse_date(draft.valid_from, required=True)
    if start is not None and start < today:
        start_problem = f"must not be in the past (today is {today.isoformat()})"
    check("valid_from", start_problem)
    end, end_problem = parse_date(draft.valid_until, required=True)
    if end is not None and start is not None and start_problem is None:
        if end <= start:
            end_problem = "must be after valid_from"
        elif end - start > LONGEST_COMMITMENT:
            end_problem = "must be within five years of valid_from"
    check("valid_until", end_problem)
    if violations:
        raise invalid_argument(violations)
    return replace(draft, items=tuple(sorted(set(draft.items))), free_text=draft.free_text.strip())


def new_commitment(
    uscc: str,
    draft: CommitmentDraft,
    commitment_id: str,
    public_code: str,
    now: datetime,
    request_id: str | None = None,
) -> Commitment:
    return Commitment(
        commitment_id,
        uscc,
        draft.items,
        draft.free_text,
        date.fromisoformat(draft.valid_from),
        date.fromisoformat(draft.valid_until),
        public_code,
        now.astimezone(UTC),
        request_id=request_id,
    )


def same_commitment(commitment: Commitment, uscc: str, draft: CommitmentDraft) -> bool:
    """Whether `commitment` is what declaring the (validated) `draft` for `uscc` creates."""
    return (
        commitment.uscc == uscc
        and commitment.items == draft.items
        and commitment.free_text == draft.free_text
        and commitment.valid_from.isoformat() == draft.valid_from
        and commitment.valid_until.isoformat() == draft.valid_until
    )


def commitment_state(commitment: Commitment, today: date) -> int:
    if commitment.withdraw_time is not None:
        return pb.COMMITMENT_STATE_WITHDRAWN
    if today < commitment.valid_from:
        return pb.COMMITMENT_STATE_SCHEDULED
    if today > commitment.valid_until:
        return pb.COMMITMENT_STATE_EXPIRED
    return pb.COMMITMENT_STATE_ACTIVE


def withdraw(commitment: Commitment, now: datetime) -> Commitment:
    """The commitment withdrawn at `now` (it stays on record); FAILED_PRECONDITION when it already was."""
    if commitment.withdraw_time is not None:
        raise failed_precondition(f"{commitment.name} was already withdrawn", "ALREADY_WITHDRAWN")
    return replace(commitment, withdraw_time=now)


def validate_capability(draft: CapabilityDraft, prefix: str = "declaration") -> CapabilityDraft:
    violations: list[FieldViolation] = []

    def check(field: str, problem: str | None) -> None:
        if problem is not None:
            violations.append(FieldViolation(f"{prefix}.{field}", problem))

    certificate = draft.iso10012_certificate_number.strip()
    if len(certificate) > CERTIFICATE_MAX:
        check("iso10012_certificate_number", f"must be at most {CERTIFICATE_MAX} characters")
    elif not is_one_line(certificate):
        check("iso10012_certificate_number", "must not contain control characters")
    elif certificate and not draft.has_management_system:
        check("iso10012_certificate_number", "an ISO 10012 certificate needs has_management_system = true")
    for field in ("instrument_count", "metrology_staff_count"):
        value = getattr(draft, field)
        if not 0 <= value <= COUNT_MAX:
            check(field, f"must be between 0 and {COUNT_MAX}, got {value}")
    if draft.in_house_calibration and draft.metrology_staff_count == 0:
        check(
            "in_house_calibration", "in-house calibration needs metrology staff (metrology_staff_count > 0)"
        )
    if violations:
        raise invalid_argument(violations)
    return replace(draft, iso10012_certificate_number=certificate)


def new_capability(
    uscc: str,
    draft: CapabilityDraft,
    declaration_id: str,
    public_code: str,
    now: datetime,
    request_id: str | None = None,
) -> CapabilityDeclaration:
    return CapabilityDeclaration(
        declaration_id,
        uscc,
        **vars(draft),
        public_code=public_code,
        declare_time=now.astimezone(UTC),
        request_id=request_id,
    )


def same_capability(declaration: CapabilityDeclaration, uscc: str, draft: CapabilityDraft) -> bool:
    """Whether `declaration` is what declaring the (validated) `draft` for `uscc` creates."""
    declared = {field: getattr(declaration, field) for field in vars(draft)}
    return declaration.uscc == uscc and declared == vars(draft)
