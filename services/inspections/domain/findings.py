"""What an inspection finds: instruments, net-content samples, the capability declaration, a refusal, and
violations counted by severity; the summary events carry; and the checks each must pass. Enum values are
those of `integrity.inspections.v1` (one source of truth)."""

from __future__ import annotations

from dataclasses import dataclass

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from shared.errors import FieldViolation

Q = inspections_pb2
MINOR, MAJOR, SERIOUS = (
    Q.INSPECTION_OUTCOME_MINOR_VIOLATION,
    Q.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    Q.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
)
# The fields counting violations found by severity, mildest first, with the outcome each stands for.
FINDING_COUNT_FIELDS = (("minor_findings", MINOR), ("major_findings", MAJOR), ("serious_findings", SERIOUS))


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
    minor_findings: int = 0
    major_findings: int = 0
    serious_findings: int = 0

    @property
    def serious(self) -> bool:
        return is_serious(self.tampering_found, self.capability_declaration, self.inspection_refused)

    @property
    def finding_counts(self) -> tuple[int, int, int]:
        return (self.minor_findings, self.major_findings, self.serious_findings)

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
    # Violations found, counted by severity; all 0 when not counted.
    minor_findings: int = 0
    major_findings: int = 0
    serious_findings: int = 0

    @property
    def finding_counts(self) -> tuple[int, int, int]:
        return (self.minor_findings, self.major_findings, self.serious_findings)

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
            minor_findings=self.minor_findings,
            major_findings=self.major_findings,
            serious_findings=self.serious_findings,
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
    for (field, _), count in zip(FINDING_COUNT_FIELDS, findings.finding_counts, strict=True):
        if count < 0:
            violations.append(FieldViolation(f"findings.{field}", "must not be negative"))
    return violations


def summary_violations(summary: FindingSummary) -> list[FieldViolation]:
    """What is wrong with the counts of a summary (an imported InspectionCompleted)."""
    violations = []
    counted = ("instruments_checked", "instruments_overdue", "instruments_failed", "net_content_samples")
    for field in counted + tuple(name for name, _ in FINDING_COUNT_FIELDS):
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
