"""Whether the service that owns an imported event would have produced it (interim, see legacy.py).

Each check reuses the owning service's own rules (its domain validators), so an imported line is
refused in the same words the gRPC API uses for the same mistake. Checks that need the service's stored
state (does the enterprise exist?) are done where the event is stored (`operations.history.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from integrity.events.v1 import events_pb2
from services.complaints import domain as complaints
from services.enterprises import declarations, instruments
from services.enterprises.catalogue import kind_of
from services.enterprises.domain import (
    CHINA_STANDARD_TIME,
    RESOURCE_PREFIX,
    STATUSES,
    china_today,
    validate_registration,
)
from services.enterprises.messages import (
    capability_draft_from_proto,
    commitment_draft_from_proto,
    draft_from_proto,
    instrument_draft_from_proto,
    verification_draft_from_proto,
)
from services.inspections import domain as inspections
from shared.errors import FieldViolation, IntegrityError, invalid_argument
from shared.events import Event
from shared.regions import region_problem

PLAN_PREFIX = "inspectionPlans/"


def check_rules(event: Event) -> None:
    """Raises IntegrityError, in the words of the owning service's API, unless it would have produced
    `event` (rules that need no stored state)."""
    kind = event.WhichOneof("payload")
    assert kind is not None  # the envelope was validated
    _CHECKS[kind](event, getattr(event, kind), event.occurred_at.ToDatetime(tzinfo=UTC))


def _short(event: Event) -> str:
    return event.type.rsplit(".", 1)[-1]


def _same_subject(event: Event, uscc: str, field: str) -> None:
    if uscc != event.subject:
        raise invalid_argument(
            [FieldViolation(field, f"names {uscc!r} but the event subject is {event.subject}")]
        )


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_STANDARD_TIME).date()


# --- enterprises ------------------------------------------------------------------------------------


def _enterprise(event: Event, payload: events_pb2.EnterpriseRegistered, _occurred: datetime) -> None:
    enterprise = payload.enterprise
    violations: list[FieldViolation] = []
    try:
        validate_registration(draft_from_proto(enterprise), today=china_today())
    except IntegrityError as err:
        violations += err.field_violations
    if enterprise.status and enterprise.status not in STATUSES:
        violations.append(
            FieldViolation("enterprise.status", f"{enterprise.status} is not a known EnterpriseStatus value")
        )
    if violations:
        raise invalid_argument(violations)
    _same_subject(event, enterprise.uscc, "enterprise.uscc")


def _status_changed(event: Event, payload: events_pb2.EnterpriseStatusChanged, occurred: datetime) -> None:
    _enterprise(event, payload, occurred)  # type: ignore[arg-type]
    if not payload.enterprise.status:
        raise invalid_argument(
            [FieldViolation("enterprise.status", "is required, the status after the change")]
        )


def _instrument(event: Event, payload: events_pb2.InstrumentRegistered, _occurred: datetime) -> None:
    uscc, _ = instruments.parse_instrument_name(payload.instrument.name, "instrument.name")
    _same_subject(event, uscc, "instrument.name")
    instruments.validate_instrument(instrument_draft_from_proto(payload.instrument))


def _verification(event: Event, payload: events_pb2.VerificationRecorded, _occurred: datetime) -> None:
    uscc, _ = instruments.parse_instrument_name(payload.instrument, "instrument")
    _same_subject(event, uscc, "instrument")
    if not kind_of(payload.instrument_type):
        raise invalid_argument(
            [
                FieldViolation(
                    "instrument_type", f"{payload.instrument_type} is not a catalogued InstrumentType"
                )
            ]
        )
    draft = verification_draft_from_proto(payload.verification)
    instruments.validate_verification(draft, china_today())


def _commitment(event: Event, payload: events_pb2.CommitmentDeclared, occurred: datetime) -> None:
    uscc, _ = declarations.parse_commitment_name(payload.commitment.name, "commitment.name")
    _same_subject(event, uscc, "commitment.name")
    # Declared: valid_from may not precede the day it was declared (the API's rule on that day).
    declarations.validate_commitment(commitment_draft_from_proto(payload.commitment), china_date(occurred))


def _withdrawal(event: Event, payload: events_pb2.CommitmentWithdrawn, _occurred: datetime) -> None:
    uscc, _ = declarations.parse_commitment_name(payload.commitment.name, "commitment.name")
    _same_subject(event, uscc, "commitment.name")
    # A withdrawal comes after the declaration: its dates were checked then, against that day.
    declarations.validate_commitment(commitment_draft_from_proto(payload.commitment), date.min)


def capability_id(event: Event, name: str) -> str:
    """The declaration id in `enterprises/{subject}/capabilityDeclarations/{id}`."""
    prefix = f"{RESOURCE_PREFIX}{event.subject}/capabilityDeclarations/"
    if name.startswith(prefix) and declarations.DECLARATION_ID.fullmatch(name[len(prefix) :]):
        return name[len(prefix) :]
    raise invalid_argument(
        [FieldViolation("declaration.name", f"must be {prefix}{{16 hex digits}}, got {name[:80]!r}")]
    )


def _capability(event: Event, payload: events_pb2.CapabilityDeclared, _occurred: datetime) -> None:
    capability_id(event, payload.declaration.name)
    declarations.validate_capability(capability_draft_from_proto(payload.declaration))


# --- complaints -------------------------------------------------------------------------------------


def _complaint_names(payload: events_pb2.ComplaintAccepted) -> list[FieldViolation]:
    violations = []
    for field, value in (("complaint", payload.complaint), ("duplicate_of", payload.duplicate_of)):
        if field == "complaint" or value:
            try:
                complaints.parse_complaint_name(value, field)
            except IntegrityError as err:
                violations += err.field_violations
    return violations


def _enum(value: int, known: frozenset[int], enum_name: str, field: str) -> list[FieldViolation]:
    if value == 0:
        return [FieldViolation(field, f"is required, one of the {enum_name} values")]
    if value not in known:
        return [FieldViolation(field, f"{value} is not a known {enum_name} value")]
    return []


def _complaint(event: Event, payload: events_pb2.ComplaintAccepted, _occurred: datetime) -> None:
    violations = _complaint_names(payload)
    violations += _enum(payload.category, complaints.CATEGORIES, "ComplaintCategory", "category")
    if isinstance(payload, events_pb2.ComplaintFiled):
        violations += _enum(payload.channel, complaints.CHANNELS, "ComplaintChannel", "channel")
        if payload.region_code and (problem := region_problem(payload.region_code)):
            violations.append(FieldViolation("region_code", problem))
    if isinstance(payload, events_pb2.ComplaintResolved):
        # The resolution text stays in the legacy system; only the substantiation rules apply here.
        resolution = complaints.Resolution(payload.substantiated, payload.severity, resolution="imported")
        violations += complaints.resolution_violations(resolution)
    if violations:
        raise invalid_argument(violations)


# --- inspections ------------------------------------------------------------------------------------


def _summary_violations(summary: events_pb2.InspectionFindingSummary) -> list[FieldViolation]:
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


def _inspection(event: Event, payload: events_pb2.InspectionCompleted, occurred: datetime) -> None:
    inspections.parse_name(payload.inspection, inspections.INSPECTION_PREFIX, "inspection")
    summary = payload.summary
    violations = _summary_violations(summary)
    serious = (
        summary.tampering_found
        or summary.inspection_refused
        or summary.capability_declaration == events_pb2.CAPABILITY_DECLARATION_CHECK_FALSE
    )
    violation_found = (
        serious or summary.instruments_overdue or summary.instruments_failed or summary.net_content_short
    )
    # The same rules, in the same words, as CompleteInspection.
    if payload.outcome not in inspections.OUTCOMES:
        violations.append(
            FieldViolation("outcome", "is required: COMPLIANT, MINOR, MAJOR or SERIOUS_VIOLATION")
        )
    elif serious and payload.outcome != inspections.SERIOUS:
        violations.append(
            FieldViolation(
                "outcome", "must be SERIOUS_VIOLATION: tampering, a false declaration or a refusal is serious"
            )
        )
    elif violation_found and payload.outcome == inspections.COMPLIANT:
        violations.append(FieldViolation("outcome", "cannot be COMPLIANT when the findings show a violation"))
    if len(payload.penalty_reference) > inspections.PENALTY_REFERENCE_MAX:
        violations.append(
            FieldViolation(
                "penalty_reference", f"must be at most {inspections.PENALTY_REFERENCE_MAX} characters"
            )
        )
    has_deadline = payload.HasField("rectification_deadline")
    if payload.outcome == inspections.COMPLIANT:
        if has_deadline:
            violations.append(
                FieldViolation("rectification_deadline", "must be unset for a COMPLIANT outcome")
            )
        if payload.penalty_reference.strip():
            violations.append(FieldViolation("penalty_reference", "must be empty for a COMPLIANT outcome"))
    elif has_deadline and payload.rectification_deadline.ToDatetime(tzinfo=UTC) <= occurred:
        violations.append(FieldViolation("rectification_deadline", "must be after the inspection (time)"))
    if violations:
        raise invalid_argument(violations)


def _inspection_named(event: Event, payload: events_pb2.RectificationCompleted, _occurred: datetime) -> None:
    inspections.parse_name(payload.inspection, inspections.INSPECTION_PREFIX, "inspection")


def _planned(event: Event, payload: events_pb2.InspectionPlanned, occurred: datetime) -> None:
    _inspection_named(event, payload, occurred)  # type: ignore[arg-type]
    inspections.parse_name(payload.plan, PLAN_PREFIX, "plan")


_CHECKS: dict[str, Callable[[Event, object, datetime], None]] = {
    "enterprise_registered": _enterprise,
    "enterprise_updated": _enterprise,
    "enterprise_status_changed": _status_changed,
    "instrument_registered": _instrument,
    "verification_recorded": _verification,
    "commitment_declared": _commitment,
    "commitment_withdrawn": _withdrawal,
    "capability_declared": _capability,
    "complaint_filed": _complaint,
    "complaint_accepted": _complaint,
    "complaint_rejected": _complaint,
    "complaint_resolved": _complaint,
    "inspection_completed": _inspection,
    "rectification_completed": _inspection_named,
    "rectification_overdue": _inspection_named,
    "inspection_planned": _planned,
}  # type: ignore[dict-item]
