"""The handler of the events the complaints service consumes: the registry's enterprise events feed its
copy of the registry, which matches complaints to registered enterprises (`use_cases.matching`). Fed by an
EventConsumer; no synchronous calls to other services."""

from __future__ import annotations

from datetime import UTC

from services.complaints.use_cases import matching
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.events import Event, InvalidEvent
from shared.uscc import uscc_problem

CONSUMER_GROUP = "integrity-complaints"
_ENTERPRISE_EVENTS = ("enterprise_registered", "enterprise_updated", "enterprise_status_changed")


def handle_event(uow: ComplaintsUoW, event: Event, topic: str) -> None:
    """Applies one event to the copy of the registry (inside the consumer's transaction)."""
    kind = event.WhichOneof("payload")
    if kind not in _ENTERPRISE_EVENTS:
        return
    enterprise = getattr(event, kind).enterprise
    if problem := uscc_problem(enterprise.uscc):
        raise InvalidEvent(f"{event.type} enterprise uscc {enterprise.uscc!r}: {problem}")
    if enterprise.uscc != event.subject:
        raise InvalidEvent(f"{event.type} is about {enterprise.uscc}, but its subject is {event.subject}")
    region = enterprise.region_code
    # The registry checked the region against the list of its day; a shape is all that is asked here.
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise InvalidEvent(f"{event.type} enterprise region_code {region!r} is not six digits")
    matching.record_registration(uow, enterprise.uscc, region, event.occurred_at.ToDatetime(tzinfo=UTC))
