"""The enterprise registry's model and rules: what a valid registration is, and what one looks like.

Pure: no gRPC, no database. Enum values are those of `integrity.enterprises.v1` (one source of truth).
Every rule is checked and all violations are reported together, with the request field path of each.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain.values import NOT_ONE_LINE, china_today, parse_past_date
from shared import pagination
from shared.errors import FieldViolation, IntegrityError, failed_precondition, invalid_argument
from shared.idempotency import request_id_problem
from shared.industries import industry_problem, normalize_industry
from shared.regions import region_contains, region_problem
from shared.uscc import uscc_problem

RESOURCE_PREFIX = "enterprises/"
DISPLAY_NAME_MAX = 200

SUBJECT_TYPES = frozenset(v for v in enterprises_pb2.SubjectType.values() if v != 0)
SIZE_CLASSES = frozenset(v for v in enterprises_pb2.SizeClass.values() if v != 0)
STATUSES = frozenset(v for v in enterprises_pb2.EnterpriseStatus.values() if v != 0)
ACTIVE = enterprises_pb2.ENTERPRISE_STATUS_ACTIVE
DEREGISTERED = enterprises_pb2.ENTERPRISE_STATUS_DEREGISTERED


@dataclass(frozen=True)
class EnterpriseDraft:
    """A registration as the caller sent it: every field unchecked, as text or enum number."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str
    subject_type: int
    size_class: int = 0
    registered_date: str = ""


@dataclass(frozen=True)
class Registration:
    """A validated registration in canonical form (industry "F5265", name stripped, date parsed)."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str
    subject_type: int
    size_class: int
    registered_date: date | None


@dataclass(frozen=True)
class Enterprise:
    """A registered enterprise."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str
    subject_type: int
    size_class: int
    registered_date: date | None
    status: int
    create_time: datetime
    update_time: datetime
    etag: str
    request_id: str | None = None

    @property
    def name(self) -> str:
        return enterprise_name(self.uscc)

    @property
    def registration(self) -> Registration:
        return Registration(
            self.uscc,
            self.display_name,
            self.region_code,
            self.industry_code,
            self.subject_type,
            self.size_class,
            self.registered_date,
        )


def enterprise_name(uscc: str) -> str:
    return RESOURCE_PREFIX + uscc


# --- validation -----------------------------------------------------------------------------------


def _display_name_problem(stripped: str) -> str | None:
    if not stripped:
        return "is required (the registered name, e.g. 西安市某某加油站有限公司)"
    if len(stripped) > DISPLAY_NAME_MAX:
        return f"must be at most {DISPLAY_NAME_MAX} characters, got {len(stripped)}"
    bad = sorted({f"U+{ord(c):04X}" for c in stripped if unicodedata.category(c) in NOT_ONE_LINE})
    if bad:
        return f"must not contain control characters or line breaks, found {', '.join(bad[:5])}"
    return None


def _enum_problem(value: int, known: frozenset[int], enum_name: str, required: bool) -> str | None:
    if value == 0:
        return f"is required, one of the {enum_name} values" if required else None
    if value not in known:
        return f"{value} is not a known {enum_name} value"
    return None


def validate_registration(
    draft: EnterpriseDraft, request_id: str = "", *, today: date | None = None, prefix: str = "enterprise"
) -> Registration:
    """The registration in canonical form; raises INVALID_ARGUMENT listing every violated rule."""
    today = today or china_today()
    violations: list[FieldViolation] = []

    def check(field: str, problem: str | None) -> None:
        if problem is not None:
            violations.append(FieldViolation(f"{prefix}.{field}" if prefix else field, problem))

    display_name = draft.display_name.strip()
    registered_date, date_problem = parse_past_date(
        draft.registered_date, today, required=False, example="2015-06-30"
    )
    industry = industry_problem(draft.industry_code)
    check("uscc", uscc_problem(draft.uscc))
    check("display_name", _display_name_problem(display_name))
    check("region_code", region_problem(draft.region_code))
    check("industry_code", industry)
    check("subject_type", _enum_problem(draft.subject_type, SUBJECT_TYPES, "SubjectType", required=True))
    check("size_class", _enum_problem(draft.size_class, SIZE_CLASSES, "SizeClass", required=False))
    check("registered_date", date_problem)
    if (problem := request_id_problem(request_id)) is not None:
        violations.append(FieldViolation("request_id", problem))
    if violations:
        raise invalid_argument(violations)
    return Registration(
        uscc=draft.uscc,
        display_name=display_name,
        region_code=draft.region_code,
        industry_code=normalize_industry(draft.industry_code),
        subject_type=draft.subject_type,
        size_class=draft.size_class,
        registered_date=registered_date,
    )


def validate_state(
    draft: EnterpriseDraft, status: int, *, status_required: bool, today: date
) -> Registration:
    """The registration in canonical form, its `status` checked with it (0 means none was given, refused
    only when `status_required`); INVALID_ARGUMENT listing every violated rule, the status's last."""
    status_problem = _enum_problem(status, STATUSES, "EnterpriseStatus", required=status_required)
    try:
        registration = validate_registration(draft, today=today)
    except IntegrityError as err:
        if status_problem is not None:
            err.field_violations.append(FieldViolation("enterprise.status", status_problem))
        raise invalid_argument(err.field_violations) from None
    if status_problem is not None:
        raise invalid_argument([FieldViolation("enterprise.status", status_problem)])
    return registration


def parse_enterprise_name(name: str, field: str = "name") -> str:
    """The USCC in a resource name `enterprises/{uscc}`; INVALID_ARGUMENT on `field` when malformed."""
    if not name.startswith(RESOURCE_PREFIX):
        problem = f"must be a resource name like enterprises/91610112MA6TXXXX0X, got {name[:60]!r}"
    else:
        uscc = name[len(RESOURCE_PREFIX) :]
        inner = uscc_problem(uscc)
        if inner is None:
            return uscc
        problem = f"the USCC after enterprises/ is invalid: {inner}"
    raise invalid_argument([FieldViolation(field, problem)])


# --- registering ----------------------------------------------------------------------------------


def compute_etag(registration: Registration, status: int, update_time: datetime) -> str:
    """AIP-154 etag: changes whenever the enterprise's state changes."""
    parts = (*(str(v) for v in vars(registration).values()), str(status), update_time.isoformat())
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def register(
    registration: Registration, now: datetime, request_id: str | None = None, *, status: int = ACTIVE
) -> Enterprise:
    """A new enterprise, created now (UTC): active, unless a history says it was registered otherwise."""
    now = now.astimezone(UTC)
    return Enterprise(
        **vars(registration),
        status=status,
        create_time=now,
        update_time=now,
        etag=compute_etag(registration, status, now),
        request_id=request_id,
    )


def require_active(enterprise: Enterprise, cannot: str) -> Enterprise:
    """The enterprise, unless it is deregistered: then FAILED_PRECONDITION saying what it `cannot` do."""
    if enterprise.status == DEREGISTERED:
        raise failed_precondition(f"{enterprise.name} is deregistered; it cannot {cannot}", "DEREGISTERED")
    return enterprise


# --- updating -------------------------------------------------------------------------------------

# Fields an UpdateEnterprise may change; the USCC, times and etag are identity or output only.
UPDATABLE_FIELDS = (
    "display_name",
    "region_code",
    "industry_code",
    "subject_type",
    "size_class",
    "registered_date",
    "status",
)
ABORTED_ETAG = "ETAG_MISMATCH"


@dataclass(frozen=True)
class EnterpriseChange:
    """An update as the caller sent it: the target, new values (only masked ones count), mask, etag."""

    name: str
    draft: EnterpriseDraft
    status: int
    etag: str
    mask: tuple[str, ...]


def resolve_mask(change: EnterpriseChange) -> tuple[str, ...]:
    """The fields to change (AIP-134): the mask, "*" for all, or the populated fields when empty."""
    if not change.mask:
        values = {**vars(change.draft), "status": change.status}
        populated = tuple(f for f in UPDATABLE_FIELDS if values[f] not in ("", 0))
        if not populated:
            raise invalid_argument(
                [FieldViolation("update_mask", "is empty and no updatable field is set; nothing to change")]
            )
        return populated
    if "*" in change.mask:
        if len(change.mask) > 1:
            raise invalid_argument([FieldViolation("update_mask", '"*" must be the only path')])
        return UPDATABLE_FIELDS
    violations = []
    for path in change.mask:
        if path not in UPDATABLE_FIELDS:
            shown = path[:60]
            violations.append(
                FieldViolation(
                    "update_mask",
                    f"{shown!r} is not an updatable field; updatable: {', '.join(UPDATABLE_FIELDS)}",
                )
            )
    if violations:
        raise invalid_argument(violations)
    return tuple(dict.fromkeys(change.mask))


def apply_change(
    current: Enterprise, change: EnterpriseChange, fields: tuple[str, ...], now: datetime, today: date
) -> tuple[Enterprise, list[str]]:
    """The enterprise after `change` to `fields`, and which fields really changed (none: unchanged).

    The merged registration is validated as a whole, so an update cannot produce what a create refuses.
    """
    kept = {
        "uscc": current.uscc,
        "display_name": current.display_name,
        "region_code": current.region_code,
        "industry_code": current.industry_code,
        "subject_type": current.subject_type,
        "size_class": current.size_class,
        "registered_date": current.registered_date.isoformat() if current.registered_date else "",
    }
    merged = {**kept, **{f: getattr(change.draft, f) for f in fields if f != "status"}}
    status = change.status if "status" in fields else current.status
    draft = EnterpriseDraft(**merged)  # type: ignore[arg-type]
    registration = validate_state(draft, status, status_required=True, today=today)
    before = {**vars(current.registration), "status": current.status}
    after = {**vars(registration), "status": status}
    changed = [f for f in UPDATABLE_FIELDS if before[f] != after[f]]
    if not changed:
        return current, []
    return restate(current, registration, status, now), changed


def restate(current: Enterprise, registration: Registration, status: int, now: datetime) -> Enterprise:
    """The enterprise as it is from `now` (UTC) on: `registration` with `status`, and a new etag."""
    now = now.astimezone(UTC)
    return replace(
        current,
        **vars(registration),
        status=status,
        update_time=now,
        etag=compute_etag(registration, status, now),
    )


# --- listing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseQuery:
    """Which enterprises to list; None means any. `region_code` includes the region's children."""

    region_code: str | None = None
    industry_code: str | None = None
    subject_type: int | None = None
    status: int | None = None
    # Set by authorization for an enterprise caller, never by the filter.
    uscc: str | None = None

    def fingerprint(self) -> str:
        """A short digest of the filter, so a page token cannot be reused with another filter."""
        return pagination.fingerprint(json.dumps(asdict(self), sort_keys=True, separators=(",", ":")))

    def within(self, region_code: str) -> EnterpriseQuery:
        return replace(self, region_code=region_code)

    def matches_region(self, region_code: str) -> bool:
        return self.region_code is None or region_contains(self.region_code, region_code)
