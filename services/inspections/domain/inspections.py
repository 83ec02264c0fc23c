"""Inspections, their results and their lifecycle.

An inspection is drawn PLANNED; its result (outcome, findings, penalty, rectification deadline) completes
it, and a violation leaves it RECTIFYING until rectified or overdue. The rules a result must follow are
`result_violations`, the one function behind CompleteInspection and the import of InspectionCompleted.
Enum values are those of `integrity.inspections.v1` (one source of truth).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.inspections.domain.commitment import PublicCommitment
from services.inspections.domain.names import INSPECTION_PREFIX
from services.inspections.domain.publication import publication_date
from shared.errors import FieldViolation, invalid_argument, invalid_transition
from shared.workdays import PRC, WorkingCalendar

Q = inspections_pb2
PENALTY_REFERENCE_MAX = 100
# An order to rectify gives at most this long; a later deadline is a typing error, not a decision.
RECTIFICATION_MAX_DAYS = 365

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


def state_label(state: int) -> str:
    return Q.InspectionState.Name(state).removeprefix("INSPECTION_STATE_")  # type: ignore[arg-type]


def is_serious(tampering_found: bool, capability_declaration: int, inspection_refused: bool) -> bool:
    """Serious violations in metrology: cheating, a false declaration, refusing inspection.
    (DeclarationCheck and the events' CapabilityDeclarationCheck share their numbers.)"""
    return tampering_found or capability_declaration == Q.DECLARATION_CHECK_FALSE or inspection_refused


# --- findings --------------------------------------------------------------------------------------


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
class FindingSummary:
    """The findings as events carry them (InspectionFindingSummary): counts, no item details."""

    instruments_checked: int = 0
    instruments_overdue: int = 0
    instruments_failed: int = 0
    tampering_found: bool = False
    net_content_samples: int = 0
    net_content_short: int = 0
    largest_shortfall_percent: float = 0.0
    capability_declaration: int = 0
    inspection_refused: bool = False

    @property
    def serious(self) -> bool:
        return is_serious(self.tampering_found, self.capability_declaration, self.inspection_refused)

    @property
    def violation_found(self) -> bool:
        return self.serious or bool(
            self.instruments_overdue or self.instruments_failed or self.net_content_short
        )


@dataclass(frozen=True)
class Findings:
    instruments: tuple[InstrumentFinding, ...] = ()
    net_content: tuple[NetContentFinding, ...] = ()
    capability_declaration: int = Q.DECLARATION_CHECK_UNSPECIFIED
    inspection_refused: bool = False

    @property
    def serious(self) -> bool:
        return is_serious(
            any(i.tampering_found for i in self.instruments),
            self.capability_declaration,
            self.inspection_refused,
        )

    @property
    def any_violation(self) -> bool:
        # Any status but VALID counts (an unknown one too), so a malformed finding is never COMPLIANT.
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

    def summary(self) -> FindingSummary:
        return FindingSummary(
            instruments_checked=len(self.instruments),
            instruments_overdue=sum(
                1 for i in self.instruments if i.verification_status == Q.VERIFICATION_STATUS_OVERDUE
            ),
            instruments_failed=sum(
                1 for i in self.instruments if i.verification_status == Q.VERIFICATION_STATUS_FAILED
            ),
            tampering_found=any(i.tampering_found for i in self.instruments),
            net_content_samples=sum(n.batches_sampled for n in self.net_content),
            net_content_short=sum(n.batches_short for n in self.net_content),
            largest_shortfall_percent=max(
                (n.largest_shortfall_percent for n in self.net_content), default=0.0
            ),
            capability_declaration=self.capability_declaration,
            inspection_refused=self.inspection_refused,
        )


def findings_violations(findings: Findings) -> list[FieldViolation]:
    """What is wrong with the findings an inspector records, item by item."""
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


def summary_violations(summary: FindingSummary) -> list[FieldViolation]:
    """What is wrong with the counts of a summary (an imported InspectionCompleted)."""
    violations = []
    for field in ("instruments_checked", "instruments_overdue", "instruments_failed", "net_content_samples"):
        if getattr(summary, field) < 0:
            violations.append(FieldViolation(f"summary.{field}", "must not be negative"))
    if summary.instruments_overdue + summary.instruments_failed > summary.instruments_checked:
        violations.append(
            FieldViolation(
                "summary.instruments_checked", "must be at least instruments_overdue + instruments_failed"
            )
        )
    if not 0 <= summary.net_content_short <= max(summary.net_content_samples, 0):
        violations.append(
            FieldViolation("summary.net_content_short", "must be between 0 and net_content_samples")
        )
    if not 0.0 <= summary.largest_shortfall_percent <= 100.0:
        violations.append(FieldViolation("summary.largest_shortfall_percent", "must be between 0 and 100"))
    elif summary.net_content_short == 0 and summary.largest_shortfall_percent > 0:
        violations.append(
            FieldViolation("summary.largest_shortfall_percent", "must be 0 when no batch was short")
        )
    if summary.capability_declaration not in events_pb2.CapabilityDeclarationCheck.values():
        violations.append(
            FieldViolation("summary.capability_declaration", "is not a CapabilityDeclarationCheck")
        )
    return violations


# --- the result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultClaim:
    """What a result says, whether an inspector records it or a legacy history reports it."""

    outcome: int
    serious: bool  # the findings show a serious violation
    violation_found: bool  # the findings show any violation
    penalty_reference: str
    rectification_deadline: datetime | None


def result_violations(
    result: ResultClaim, completed_at: datetime, *, imported: bool = False
) -> list[FieldViolation]:
    """The rules of a result, in the words of CompleteInspection: the outcome must match the findings, a
    COMPLIANT outcome has no penalty and no rectification deadline, and a deadline comes after completion.

    CompleteInspection completes now and requires a deadline when a violation was found; an imported
    result (`imported`) was completed at `completed_at` and may lack the deadline.
    """
    violations = []
    outcome = result.outcome
    if outcome not in OUTCOMES:
        violations.append(
            FieldViolation("outcome", "is required: COMPLIANT, MINOR, MAJOR or SERIOUS_VIOLATION")
        )
    elif result.serious and outcome != SERIOUS:
        violations.append(
            FieldViolation(
                "outcome",
                "must be SERIOUS_VIOLATION: tampering, a false declaration or a refusal is serious",
            )
        )
    elif result.violation_found and outcome == COMPLIANT:
        violations.append(FieldViolation("outcome", "cannot be COMPLIANT when the findings show a violation"))
    if len(result.penalty_reference) > PENALTY_REFERENCE_MAX:
        violations.append(
            FieldViolation("penalty_reference", f"must be at most {PENALTY_REFERENCE_MAX} characters")
        )
    deadline = result.rectification_deadline
    if outcome == COMPLIANT:
        if deadline is not None:
            violations.append(
                FieldViolation("rectification_deadline", "must be unset for a COMPLIANT outcome")
            )
        if result.penalty_reference.strip():
            violations.append(FieldViolation("penalty_reference", "must be empty for a COMPLIANT outcome"))
    elif outcome in OUTCOMES:
        if deadline is None:
            if not imported:
                violations.append(
                    FieldViolation("rectification_deadline", "is required when a violation was found")
                )
        elif deadline <= completed_at:
            too_early = "must be after the inspection (time)" if imported else "must be in the future"
            violations.append(FieldViolation("rectification_deadline", too_early))
        elif deadline > completed_at + timedelta(days=RECTIFICATION_MAX_DAYS):
            violations.append(
                FieldViolation(
                    "rectification_deadline",
                    f"must be at most {RECTIFICATION_MAX_DAYS} days after the inspection",
                )
            )
    return violations


# --- the inspection and its lifecycle ----------------------------------------------------------------


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


@dataclass(frozen=True)
class PublishedResult:
    """A result as the public sees it (一公开), with the enterprise's name from the local copy, and the
    commitment of the plan that drew it with the opening that links the enterprise to its tag."""

    inspection: Inspection
    enterprise_name: str
    commitment: PublicCommitment | None = None
    opening: str = ""


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
    calendar: WorkingCalendar = PRC,
) -> Inspection:
    """The inspection with its result; INVALID_ARGUMENT when the result does not hold together."""
    penalty_reference = penalty_reference.strip()
    claim = ResultClaim(
        outcome, findings.serious, findings.any_violation, penalty_reference, rectification_deadline
    )
    if violations := findings_violations(findings) + result_violations(claim, now):
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
        publish_date=publication_date(now, publication_working_days, calendar),
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
    if target not in allowed:
        raise invalid_transition(
            inspection.name,
            state_label(inspection.state),
            state_label(target),
            (state_label(s) for s in allowed),
        )
