"""The handler of the events the inspections service consumes: the registry's enterprises, scoring's
grades and resolved complaints feed the local copy (`use_cases.local_copy`). Fed by an EventConsumer; no
synchronous calls to other services."""

from __future__ import annotations

from services.inspections.use_cases import local_copy
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.events import Event, InvalidEvent
from shared.uscc import uscc_problem

CONSUMER_GROUP = "integrity-inspections"
_ENTERPRISE_EVENTS = ("enterprise_registered", "enterprise_updated", "enterprise_status_changed")


def handle_event(uow: InspectionsUoW, event: Event, topic: str) -> None:
    """Applies one event to the local copy (inside the consumer's transaction)."""
    kind = event.WhichOneof("payload")
    if kind in _ENTERPRISE_EVENTS:
        enterprise = getattr(event, kind).enterprise
        if problem := uscc_problem(enterprise.uscc):
            raise InvalidEvent(f"{event.type} enterprise uscc {enterprise.uscc!r}: {problem}")
        if enterprise.uscc != event.subject:
            raise InvalidEvent(
                f"{event.type} is about {event.subject!r} but carries enterprise {enterprise.uscc!r}"
            )
        local_copy.record_registry_facts(
            uow,
            enterprise.uscc,
            region_code=enterprise.region_code,
            display_name=enterprise.display_name,
            subject_type=enterprise.subject_type,
            status=enterprise.status,
        )
        return
    if kind not in ("grade_changed", "complaint_resolved"):
        return
    if problem := uscc_problem(event.subject):
        raise InvalidEvent(f"{event.type} subject {event.subject!r}: {problem}")
    if kind == "grade_changed":
        changed = event.grade_changed
        local_copy.record_grade(uow, event.subject, changed.grade.level, changed.region_code)
    else:
        resolved = event.complaint_resolved
        local_copy.record_resolved_complaint(
            uow, event.subject, substantiated=resolved.substantiated, duplicate=bool(resolved.duplicate_of)
        )
