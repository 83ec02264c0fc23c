"""Importing this service's events from a legacy history (`integrity import`), by the rules of its API.

An imported ComplaintFiled, -Accepted, -Rejected, -Resolved or -Matched is checked with the domain's own
validators, so a line is refused in the words CreateComplaint and ResolveComplaint use for the same
mistake. The complaint itself stays in the legacy system (its description and contact were never
exported); only the events are staged in the outbox, for the services that consume them.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrity.events.v1 import events_pb2
from services.complaints.domain.complaint import Resolution, parse_complaint_name, resolution_violations
from services.complaints.domain.intake import CATEGORIES, CHANNELS, enum_problem
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.errors import FieldViolation, IntegrityError, invalid_argument
from shared.events import Event
from shared.history_import import ImportOutcome, stage_events
from shared.regions import region_problem

ComplaintEvent = (
    events_pb2.ComplaintFiled
    | events_pb2.ComplaintAccepted
    | events_pb2.ComplaintRejected
    | events_pb2.ComplaintResolved
    | events_pb2.ComplaintMatched
)


def stage_imported(uow: ComplaintsUoW, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    """Each event's outcome: staged in the outbox of the open `uow`, present already, or refused."""
    return stage_events(uow, events, topic, check_imported)


def check_imported(event: Event) -> None:
    """INVALID_ARGUMENT listing every rule the event breaks that the service would have kept."""
    kind = event.WhichOneof("payload")
    assert kind is not None  # the envelope was validated
    payload: ComplaintEvent = getattr(event, kind)
    violations = _name_violations(payload)
    if problem := enum_problem(payload.category, CATEGORIES, "ComplaintCategory"):
        violations.append(FieldViolation("category", problem))
    filed = isinstance(payload, events_pb2.ComplaintFiled)
    if filed and (problem := enum_problem(payload.channel, CHANNELS, "ComplaintChannel")):
        violations.append(FieldViolation("channel", problem))
    # A filed complaint may leave its region out; a matched one says where the enterprise is registered.
    has_region = isinstance(payload, events_pb2.ComplaintMatched) or (filed and payload.region_code)
    if has_region and (problem := region_problem(payload.region_code)):
        violations.append(FieldViolation("region_code", problem))
    if isinstance(payload, events_pb2.ComplaintResolved):
        # The resolution text stays in the legacy system; only the substantiation rules apply here.
        resolution = Resolution(payload.substantiated, payload.severity, resolution="imported")
        violations += resolution_violations(resolution)
    if violations:
        raise invalid_argument(violations)


def _name_violations(payload: ComplaintEvent) -> list[FieldViolation]:
    violations = []
    for field, value in (("complaint", payload.complaint), ("duplicate_of", payload.duplicate_of)):
        if field == "complaint" or value:
            try:
                parse_complaint_name(value, field)
            except IntegrityError as err:
                violations += err.field_violations
    return violations
