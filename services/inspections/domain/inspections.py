"""Inspections: inspectors, plan requests, results and their lifecycle, publication dates. Pure.

Enum values are those of `integrity.inspections.v1` (one source of truth). No gRPC, no database.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2
from services.inspections.domain.draw import LEVELS, UNGRADED
from shared.errors import ErrorKind, FieldViolation, IntegrityError, invalid_argument
from shared.regions import region_problem

Q = inspections_pb2
INSPECTOR_PREFIX = "inspectors/"
PLAN_PREFIX = "inspectionPlans/"
INSPECTION_PREFIX = "inspections/"
DISPLAY_NAME_MAX = 50
PENALTY_REFERENCE_MAX = 100
_INSPECTOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_ID = re.compile(r"[0-9a-f]{24}")

QUALIFICATIONS = frozenset(v for v in Q.Qualification.values() if v != 0)
SUBJECT_TYPES = frozenset(v for v in enterprises_pb2.SubjectType.values() if v != 0)

# Default sampling ratios per grade (a regulator overrides them per plan). A is inspected only when
# triggered; an enterprise with no grade yet is sampled like B.
DEFAULT_RATIOS: dict[int, float] = {
    UNGRADED: 0.10,
    scoring_pb2.GRADE_LEVEL_A: 0.0,
    scoring_pb2.GRADE_LEVEL_B: 0.10,
    scoring_pb2.GRADE_LEVEL_C: 0.30,
    scoring_pb2.GRADE_LEVEL_D: 1.0,
}

COMPLIANT = Q.INSPECTION_OUTCOME_COMPLIANT
MINOR, MAJOR, SERIOUS = (
    Q.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Q.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Q.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
)
OUTCOMES = frozenset({COMPLIANT, MINOR, MAJOR, SERIOUS})

PLANNED, COMPLETED, RECTIFYING, OVERDUE, RECTIFIED = (
    Q.INSPECTION_STATE_PLANNED,
    Q.INSPECTION_STATE_COMPLETED,
    Q.INSPECTION_STATE_RECTIFYING,
    Q.INSPECTION_STATE_RECTIFICATION_OVERDUE,
    Q.INSPECTION_STATE_RECTIFIED,
)
# The lifecycle. Anything not listed is refused and changes nothing.
TRANSITIONS: dict[int, frozenset[int]] = {
    PLANNED: frozenset({COMPLETED, RECTIFYING}),
    RECTIFYING: frozenset({RECTIFIED, OVERDUE}),
    OVERDUE: frozenset({RECTIFIED}),
    COMPLETED: frozenset(),
    RECTIFIED: frozenset(),
}
DONE_STATES = frozenset({COMPLETED, RECTIFYING, OVERDUE, RECTIFIED})

TRIGGER_COMPLAINT = "COMPLAINT"
TRIGGER_OVERDUE = "RECTIFICATION_OVERDUE"


def state_label(state: int) -> str:
    return Q.InspectionState.Name(state).removeprefix("INSPECTION_STATE_")  # type: ignore[arg-type]


def new_id(now: datetime) -> str:
    """24 hex digits: milliseconds since the epoch, then randomness, so ids sort by creation time."""
    return f"{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


# --- inspectors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inspector:
    id: str
    display_name: str
    region_code: str
    qualifications: frozenset[int]
    available: bool
    create_time: datetime

    @property
    def name(self) -> str:
        return INSPECTOR_PREFIX + self.id


def validate_inspector(
    inspector_id: str, display_name: str, region_code: str, qualifications: list[int], now: datetime
) -> Inspector:
    violations: list[FieldViolation] = []
    if inspector_id and not _INSPECTOR_ID.fullmatch(inspector_id):
        violations.append(
            FieldViolation("inspector_id", "must be 1-40 letters, digits, '-' or '_', starting with one")
        )
    display_name = display_name.strip()
    if not display_name or len(display_name) > DISPLAY_NAME_MAX:
        violations.append(
            FieldViolation("inspector.display_name", f"is required, at most {DISPLAY_NAME_MAX} characters")
        )
    if (problem := region_problem(region_code)) is not None:
        violations.append(FieldViolation("inspector.region_code", problem))
    if not qualifications:
        violations.append(
            FieldViolation("inspector.qualifications", "at least one qualification is required")
        )
    for index, qualification in enumerate(qualifications):
        if qualification not in QUALIFICATIONS:
            violations.append(
                FieldViolation(
                    f"inspector.qualifications[{index}]", f"{qualification} is not a Qualification"
                )
            )
    if violations:
        raise invalid_argument(violations)
    return Inspector(
        id=inspector_id or f"i{new_id(now)}",
        display_name=display_name,
        region_code=region_code,
        qualifications=frozenset(qualifications),
        available=True,
        create_time=now,
    )


UPDATABLE_INSPECTOR_FIELDS = ("available", "qualifications", "display_name")


def update_inspector(
    inspector: Inspector, paths: list[str], *, available: bool, qualifications: list[int], display_name: str
) -> Inspector:
    """The inspector with the masked fields changed; INVALID_ARGUMENT on a bad mask or value."""
    unknown = [p for p in paths if p not in UPDATABLE_INSPECTOR_FIELDS]
    if not paths or unknown:
        raise invalid_argument(
            [
                FieldViolation(
                    "update_mask",
                    f"must name some of {', '.join(UPDATABLE_INSPECTOR_FIELDS)}"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                )
            ]
        )
    changed = validate_inspector(
        "",
        display_name if "display_name" in paths else inspector.display_name,
        inspector.region_code,
        qualifications if "qualifications" in paths else sorted(inspector.qualifications),
        inspector.create_time,
    )
    return replace(
        inspector,
        display_name=changed.display_name,
        qualifications=changed.qualifications,
        available=available if "available" in paths else inspector.available,
    )


def inspector_id_of(subject: str) -> str | None:
    """The id in a token subject `inspectors/{id}`; None when the subject is not an inspector name."""
    if subject.startswith(INSPECTOR_PREFIX) and _INSPECTOR_ID.fullmatch(subject[len(INSPECTOR_PREFIX) :]):
        return subject[len(INSPECTOR_PREFIX) :]
    return None


# --- plans -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    region_code: str
    subject_type: int
    ratios: dict[int, float]
    seed: int


def validate_plan_request(
    region_code: str, subject_type: int, overrides: list[tuple[int, float]], seed: int
) -> PlanRequest:
    violations: list[FieldViolation] = []
    if (problem := region_problem(region_code)) is not None:
        violations.append(FieldViolation("inspection_plan.region_code", problem))
    if subject_type != 0 and subject_type not in SUBJECT_TYPES:
        violations.append(
            FieldViolation("inspection_plan.subject_type", f"{subject_type} is not a SubjectType")
        )
    ratios = dict(DEFAULT_RATIOS)
    seen: set[int] = set()
    for index, (level, ratio) in enumerate(overrides):
        field = f"inspection_plan.sampling_ratios[{index}]"
        if level not in (UNGRADED, *LEVELS):
            violations.append(FieldViolation(f"{field}.level", f"{level} is not a GradeLevel"))
        elif level in seen:
            violations.append(FieldViolation(f"{field}.level", "appears more than once"))
        if not 0.0 <= ratio <= 1.0:
            violations.append(FieldViolation(f"{field}.ratio", f"must be between 0 and 1, got {ratio}"))
        seen.add(level)
        ratios[level] = ratio
    if violations:
        raise invalid_argument(violations)
    return PlanRequest(region_code, subject_type, ratios, seed or secrets.randbits(62) + 1)


@dataclass(frozen=True)
class Plan:
    id: str
    region_code: str
    subject_type: int
    ratios: dict[int, float]
    seed: int
    snapshot: str  # JSON of the draw inputs
    created_by: str
    request_id: str | None
    create_time: datetime

    @property
    def name(self) -> str:
        return PLAN_PREFIX + self.id


# --- inspections and their results -----------------------------------------------------------------


@dataclass(frozen=True)
class InstrumentFinding:
    instrument: str
    verification_status: int
    tampering_found: bool


@dataclass(frozen=True)
class NetContentFinding:
    product: str
    batches_sampled: int
    batches_short: int
    largest_shortfall_percent: float


@dataclass(frozen=True)
class Findings:
    instruments: tuple[InstrumentFinding, ...] = ()
    net_content: tuple[NetContentFinding, ...] = ()
    capability_declaration: int = Q.DECLARATION_CHECK_UNSPECIFIED
    inspection_refused: bool = False

    @property
    def serious(self) -> bool:
        """Serious violations in metrology: cheating, a false declaration, refusing inspection."""
        return (
            any(i.tampering_found for i in self.instruments)
            or self.capability_declaration == Q.DECLARATION_CHECK_FALSE
            or self.inspection_refused
        )

    @property
    def any_violation(self) -> bool:
        return (
            self.serious
            or any(i.verification_status != Q.VERIFICATION_STATUS_VALID for i in self.instruments)
            or any(n.batches_short > 0 for n in self.net_content)
        )

    def items_checked(self) -> list[str]:
        items = []
        if self.instruments:
            items.append("instruments")
        if self.net_content:
            items.append("net_content")
        if self.capability_declaration != Q.DECLARATION_CHECK_UNSPECIFIED:
            items.append("capability_declaration")
        return items


@dataclass(frozen=True)
class Inspection:
    id: str
    plan_id: str
    uscc: str
    region_code: str
    inspectors: tuple[str, ...]  # inspector ids; the first leads
    trigger: str
    state: int
    create_time: datetime
    outcome: int = 0
    findings: Findings = Findings()
    penalty_reference: str = ""
    rectification_deadline: datetime | None = None
    complete_time: datetime | None = None
    publish_date: date | None = None
    completed_by: str = ""

    @property
    def name(self) -> str:
        return INSPECTION_PREFIX + self.id

    @property
    def lead(self) -> str:
        return self.inspectors[0]


def parse_name(name: str, prefix: str, field: str = "name") -> str:
    if name.startswith(prefix) and _ID.fullmatch(name[len(prefix) :]):
        return name[len(prefix) :]
    raise invalid_argument([FieldViolation(field, f"must be {prefix}{{id}}, got {name[:60]!r}")])


def _findings_violations(findings: Findings) -> list[FieldViolation]:
    violations = []
    for index, item in enumerate(findings.instruments):
        if item.verification_status not in (
            Q.VERIFICATION_STATUS_VALID,
            Q.VERIFICATION_STATUS_OVERDUE,
            Q.VERIFICATION_STATUS_FAILED,
        ):
            violations.append(
                FieldViolation(
                    f"findings.instruments[{index}].verification_status",
                    "is required: VALID, OVERDUE or FAILED",
                )
            )
    for index, item in enumerate(findings.net_content):
        field = f"findings.net_content[{index}]"
        if item.batches_sampled <= 0:
            violations.append(FieldViolation(f"{field}.batches_sampled", "must be positive"))
        if not 0 <= item.batches_short <= max(item.batches_sampled, 0):
            violations.append(
                FieldViolation(f"{field}.batches_short", "must be between 0 and batches_sampled")
            )
        if not 0.0 <= item.largest_shortfall_percent <= 100.0:
            violations.append(
                FieldViolation(f"{field}.largest_shortfall_percent", "must be between 0 and 100")
            )
        if item.batches_short == 0 and item.largest_shortfall_percent > 0:
            violations.append(
                FieldViolation(f"{field}.largest_shortfall_percent", "must be 0 when no batch was short")
            )
    if findings.capability_declaration not in (0, Q.DECLARATION_CHECK_CONFIRMED, Q.DECLARATION_CHECK_FALSE):
        violations.append(FieldViolation("findings.capability_declaration", "is not a DeclarationCheck"))
    return violations


def complete(
    inspection: Inspection,
    *,
    outcome: int,
    findings: Findings,
    penalty_reference: str,
    rectification_deadline: datetime | None,
    inspector_id: str,
    now: datetime,
    publication_working_days: int,
) -> Inspection:
    """The inspection with its result; INVALID_ARGUMENT when the result does not hold together."""
    violations = _findings_violations(findings)
    penalty_reference = penalty_reference.strip()
    if outcome not in OUTCOMES:
        violations.append(
            FieldViolation("outcome", "is required: COMPLIANT, MINOR, MAJOR or SERIOUS_VIOLATION")
        )
    elif findings.serious and outcome != SERIOUS:
        violations.append(
            FieldViolation(
                "outcome",
                "must be SERIOUS_VIOLATION: tampering, a false declaration or a refusal is serious",
            )
        )
    elif findings.any_violation and outcome == COMPLIANT:
        violations.append(FieldViolation("outcome", "cannot be COMPLIANT when the findings show a violation"))
    if len(penalty_reference) > PENALTY_REFERENCE_MAX:
        violations.append(
            FieldViolation("penalty_reference", f"must be at most {PENALTY_REFERENCE_MAX} characters")
        )
    if outcome == COMPLIANT:
        if rectification_deadline is not None:
            violations.append(
                FieldViolation("rectification_deadline", "must be unset for a COMPLIANT outcome")
            )
        if penalty_reference:
            violations.append(FieldViolation("penalty_reference", "must be empty for a COMPLIANT outcome"))
    elif outcome in OUTCOMES:
        if rectification_deadline is None:
            violations.append(
                FieldViolation("rectification_deadline", "is required when a violation was found")
            )
        elif rectification_deadline <= now:
            violations.append(FieldViolation("rectification_deadline", "must be in the future"))
    if violations:
        raise invalid_argument(violations)
    target = RECTIFYING if rectification_deadline is not None else COMPLETED
    _check_transition(inspection, target)
    return replace(
        inspection,
        state=target,
        outcome=outcome,
        findings=findings,
        penalty_reference=penalty_reference,
        rectification_deadline=rectification_deadline,
        complete_time=now,
        publish_date=add_working_days(now.astimezone(UTC).date(), publication_working_days),
        completed_by=inspector_id,
    )


def rectify(inspection: Inspection) -> Inspection:
    _check_transition(inspection, RECTIFIED)
    return replace(inspection, state=RECTIFIED)


def mark_overdue(inspection: Inspection) -> Inspection:
    _check_transition(inspection, OVERDUE)
    return replace(inspection, state=OVERDUE)


def _check_transition(inspection: Inspection, target: int) -> None:
    allowed = TRANSITIONS[inspection.state]
    if target in allowed:
        return
    current = state_label(inspection.state)
    options = ", ".join(sorted(state_label(s) for s in allowed)) or "nothing (it is final)"
    raise IntegrityError(
        f"{inspection.name} is {current}; it cannot become {state_label(target)} "
        f"(from {current} it can become: {options})",
        "INVALID_STATE_TRANSITION",
        ErrorKind.FAILED_PRECONDITION,
        {"resource": inspection.name, "current_state": current, "requested_state": state_label(target)},
    )


def add_working_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`; public holidays are not known here."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def request_id_problem(request_id: str) -> str | None:
    if request_id and not _UUID.fullmatch(request_id):
        return "must be empty or a UUID, e.g. 3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81 (AIP-155)"
    return None
