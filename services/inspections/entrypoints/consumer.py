"""The local copy of other services' facts: enterprises (population, subject type, name), grades and
triggers. Fed by an EventConsumer; no synchronous calls to other services."""

from __future__ import annotations

import logging

from integrity.enterprises.v1 import enterprises_pb2
from services.inspections.adapters.repository import InspectionsRepository
from services.inspections.domain.inspections import TRIGGER_COMPLAINT
from shared.db import UnitOfWork
from shared.events import Event, InvalidEvent
from shared.regions import region_problem
from shared.uscc import uscc_problem

log = logging.getLogger("integrity.inspections.projection")
CONSUMER_GROUP = "integrity-inspections"
_ENTERPRISE_EVENTS = ("enterprise_registered", "enterprise_updated", "enterprise_status_changed")


def handle_event(uow: UnitOfWork, event: Event, topic: str) -> None:
    """Applies one event to the local copy (inside the consumer's transaction)."""
    session = uow.session
    kind = event.WhichOneof("payload")
    if kind not in (*_ENTERPRISE_EVENTS, "grade_changed", "complaint_resolved"):
        return
    repository = InspectionsRepository(session)
    if kind in _ENTERPRISE_EVENTS:
        enterprise = getattr(event, kind).enterprise
        if problem := uscc_problem(enterprise.uscc):
            raise InvalidEvent(f"{event.type} enterprise uscc {enterprise.uscc!r}: {problem}")
        row = repository.enterprise(enterprise.uscc)
        if enterprise.region_code and region_problem(enterprise.region_code) is None:
            row.region_code = enterprise.region_code
        row.display_name = enterprise.display_name or row.display_name
        row.subject_type = enterprise.subject_type or row.subject_type
        row.status = enterprise.status or enterprises_pb2.ENTERPRISE_STATUS_ACTIVE
        repository.save_enterprise(row)
        return
    if problem := uscc_problem(event.subject):
        raise InvalidEvent(f"{event.type} subject {event.subject!r}: {problem}")
    row = repository.enterprise(event.subject)
    if kind == "grade_changed":
        grade_changed = event.grade_changed
        row.grade_level = grade_changed.grade.level
        if grade_changed.region_code and region_problem(grade_changed.region_code) is None:
            row.region_code = grade_changed.region_code
    else:
        resolved = event.complaint_resolved
        if not resolved.substantiated or resolved.duplicate_of:
            return
        row.trigger = TRIGGER_COMPLAINT
    repository.save_enterprise(row)
