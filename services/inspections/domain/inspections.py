"""Inspections, their results and their lifecycle.

An inspection is drawn PLANNED; its result (outcome, findings, penalty, rectification deadline) completes
it, and a violation leaves it RECTIFYING until rectified or overdue. The rules a result must follow are
`result_violations`, the one function behind CompleteInspection and the import of InspectionCompleted.
Enum values are those of `integrity.inspections.v1` (one source of truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from integrity.inspections.v1 import inspections_pb2
from services.inspections.domain.commitment import PublicCommitment
from services.inspections.domain.findings import FINDING_COUNT_FIELDS, Findings, findings_violations
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


# --- the result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultClaim:
    """What a result says, whether an inspector records it or a legacy history reports it."""

    outcome: int
    serious: bool  # the findings show a serious violation
    violation_found: bool  # the findings show any violation
    penalty_reference: str
    rectification_deadline: datetime | None
    # Violations counted by severity (minor, major, serious); all 0 when not counted.
    finding_counts: tuple[int, int, int] = (0, 0, 0)
    # Where the counts sit in the caller's message: "findings." (CompleteInspection), "summary." (events).
    counts_prefix: str = "findings."


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
    else:
        violations += _count_violations(result)
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


def _count_violations(result: ResultClaim) -> list[FieldViolation]:
    """Counted findings agree with the outcome, which is the severity of the worst violation found:
    nothing is counted above it, and at least one at it (unless nothing is counted at all)."""
    if not any(count > 0 for count in result.finding_counts):
        return []  # not counted: the outcome alone says what was found
    violations = []
    outcome_name = Q.InspectionOutcome.Name(result.outcome).removeprefix("INSPECTION_OUTCOME_")  # type: ignore[arg-type]
    for (name, severity), count in zip(FINDING_COUNT_FIELDS, result.finding_counts, strict=True):
        if severity > result.outcome and count > 0:
            violations.append(
                FieldViolation(
                    result.counts_prefix + name,
                    f"must be 0 when the outcome is {outcome_name}: the outcome is the worst violation found",
                )
            )
        elif severity == result.outcome and count < 1:
            violations.append(
                FieldViolation(
                    result.counts_prefix + name,
                    f"must be at least 1 when the outcome is {outcome_name} and findings are counted",
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
    findings: Findings = field(default_factory=Findings)
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
        outcome,
        findings.serious,
        findings.any_violation,
        penalty_reference,
        rectification_deadline,
        findings.finding_counts,
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
