"""Importing this service's events from a legacy history (`integrity import`), by the rules of its API.

An imported InspectionCompleted, RectificationCompleted, RectificationOverdue or InspectionPlanned is
checked with the domain's own validators, so a line is refused in the words CompleteInspection uses for the
same mistake. Only the events are staged in the outbox, for the services that consume them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from integrity.events.v1 import events_pb2
from services.inspections.domain import inspections
from shared.errors import FieldViolation, invalid_argument
from shared.events import Event
from shared.history_import import ImportingUnitOfWork, ImportOutcome, stage_events

PLAN_PREFIX = "inspectionPlans/"


def stage_imported(uow: ImportingUnitOfWork, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    """Each event's outcome: staged in the outbox of the open `uow`, present already, or refused."""
    return stage_events(uow, events, topic, check_imported)


def check_imported(event: Event) -> None:
    """INVALID_ARGUMENT listing every rule the event breaks that the service would have kept."""
    kind = event.WhichOneof("payload")
    assert kind is not None  # the envelope was validated
    _CHECKS[kind](event, getattr(event, kind), event.occurred_at.ToDatetime(tzinfo=UTC))


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
    "inspection_completed": _inspection,
    "rectification_completed": _inspection_named,
    "rectification_overdue": _inspection_named,
    "inspection_planned": _planned,
}  # type: ignore[dict-item]
