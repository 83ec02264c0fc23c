"""Importing this service's events from a legacy history (`integrity import`), by the rules of its API.

An imported InspectionCompleted is held to the rules CompleteInspection applies (`result_violations`,
the same function), in the same words; RectificationCompleted, RectificationOverdue and InspectionPlanned
must name their inspection (and plan). Only the events are staged in the outbox, for the services that
consume them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from integrity.events.v1 import events_pb2
from services.inspections.adapters.mapping import summary_from_proto, time_of
from services.inspections.domain.findings import summary_violations
from services.inspections.domain.inspections import ResultClaim, result_violations
from services.inspections.domain.names import INSPECTION_PREFIX, PLAN_PREFIX, parse_name
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.errors import invalid_argument
from shared.events import Event
from shared.history_import import ImportOutcome, stage_events


def stage_imported(uow: InspectionsUoW, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    """Each event's outcome: staged in the outbox of the open `uow`, present already, or refused."""
    return stage_events(uow, events, topic, check_imported)


def check_imported(event: Event) -> None:
    """INVALID_ARGUMENT listing every rule the event breaks that the service would have kept."""
    kind = event.WhichOneof("payload")
    assert kind is not None  # the envelope was validated
    payload = getattr(event, kind)
    parse_name(payload.inspection, INSPECTION_PREFIX, "inspection")
    if isinstance(payload, events_pb2.InspectionPlanned):
        parse_name(payload.plan, PLAN_PREFIX, "plan")
    if isinstance(payload, events_pb2.InspectionCompleted):
        _check_result(payload, event)


def _check_result(payload: events_pb2.InspectionCompleted, event: Event) -> None:
    summary = summary_from_proto(payload.summary)
    deadline = (
        time_of(payload.rectification_deadline, "rectification_deadline")
        if payload.HasField("rectification_deadline")
        else None
    )
    claim = ResultClaim(
        payload.outcome,
        summary.serious,
        summary.violation_found,
        payload.penalty_reference,
        deadline,
        summary.finding_counts,
        counts_prefix="summary.",
    )
    completed_at = event.occurred_at.ToDatetime(tzinfo=UTC)
    if violations := summary_violations(summary) + result_violations(claim, completed_at, imported=True):
        raise invalid_argument(violations)
