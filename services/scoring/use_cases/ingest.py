"""Ingest: an event joins its enterprise's history, the enterprise is regraded, the grade recorded, and a
level change announced (GradeChanged, staged in the outbox).

Every event goes this way: the source events the consumer reads, and the GradeOverridden and
CreditRepairGranted events of accepted appeals and granted repairs. A recompute records its grades the
same way (`record_grades`). It runs in the caller's open unit of work (the consumer's poll batch, or the
API call), so the history, the grade and the GradeChanged row commit together or not at all. It is
idempotent on its own (the history is keyed by event id): a duplicate changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from integrity.events.v1 import events_pb2
from services.scoring.adapters.mapping import fill_grade, level_to_proto, set_timestamp
from services.scoring.domain.features import HISTORY_TYPES, occurred_at
from services.scoring.domain.grades import GradeChange, same_assessment
from services.scoring.domain.grading import FoldedHistory, regrade_after
from services.scoring.domain.history import ProjectedEnterprise, check_source_event, projection_of
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.events import Event, utcnow

SOURCE = "//integrity/scoring"
# GradeChanged ids derive from the cause, so rebuilding scoring from republished sources yields the
# same event ids and downstream consumers can drop the repeats.
_GRADE_CHANGED_IDS = uuid.UUID("5f0c1c2e-9a43-4d0e-9d55-3f2b8c6a7e10")

log = logging.getLogger(__name__)


def ingest(
    uow: ScoringUoW, policy: Policy, event: Event, folds: dict[str, FoldedHistory] | None = None
) -> None:
    """Adds `event` to its enterprise's history and regrades the enterprise, in `uow` (open; the caller
    commits). Events scoring does not keep are ignored; InvalidEvent for one that cannot be graded.
    `folds`: the folded histories a batch keeps between its events (see `regrade_after`)."""
    kind = event.WhichOneof("payload")
    if kind not in HISTORY_TYPES:
        log.debug("scoring ignores %s event %s", event.type, event.id)
        return
    enterprise = check_source_event(event, kind)
    moment = occurred_at(event)
    if not uow.history.add(event, kind, moment):
        return  # a duplicate: already in the history and graded
    if enterprise is not None:
        _project(uow, projection_of(enterprise, moment, event.id), kind)
    _regrade(uow, policy, event.subject, moment, event.id, folds)


def _project(uow: ScoringUoW, projection: ProjectedEnterprise, kind: str) -> None:
    """Keeps the enterprise projection current: the newest registration or update wins."""
    stored = uow.enterprises.get(projection.uscc)
    if stored is None:
        # An update before the registration changes nothing: the registration will bring the projection.
        if kind == "enterprise_registered":
            uow.enterprises.add(projection)
    elif stored.registered_at <= projection.registered_at:  # an older event arriving late changes nothing
        uow.enterprises.save(projection)


def _regrade(
    uow: ScoringUoW,
    policy: Policy,
    uscc: str,
    event_time: datetime,
    cause_event_id: str,
    folds: dict[str, FoldedHistory] | None,
) -> None:
    """Grades the enterprise after an event at `event_time` joined its history."""
    region_code = uow.enterprises.region_code_of(uscc)
    if region_code is None:
        return  # kept in the history; graded once the registration arrives
    entries = uow.history.entries(uscc)
    current = uow.grades.get(uscc)
    grade, levels_after = regrade_after(policy, entries, current, event_time, folds)
    uow.history.set_levels_after(levels_after)
    if grade is not None:
        record_grades(uow, [GradeChange(uscc, grade, current, region_code)], cause_event_id)


def record_grades(uow: ScoringUoW, grades: Sequence[GradeChange], cause_event_id: str) -> list[GradeChange]:
    """Records each new grade: one that differs from the current grade only in as_of just moves its as_of;
    any other becomes current and joins the grade history, and a new level is announced by a GradeChanged
    event in the outbox. One statement per table for the whole sequence. Returns the grades that changed."""
    touched = {}
    changes = []
    for change in grades:
        if change.previous is not None and same_assessment(change.previous, change.grade):
            touched[change.uscc] = change.grade.as_of  # only time passed: no history entry
        else:
            changes.append(change)
    uow.grades.touch(touched)
    uow.grades.save(changes, cause_event_id, recorded_at=utcnow())
    # One plain INSERT for all of them: no ORM object to build and flush (a recompute stages thousands).
    uow.add_events(TOPIC, [grade_changed_event(c, cause_event_id) for c in changes if c.level_changed])
    return changes


def grade_changed_event(change: GradeChange, cause_event_id: str) -> Event:
    """The GradeChanged event announcing a new grade, its id derived from the cause: the envelope
    `shared.events.new_event` makes, built in place (a recompute announces thousands)."""
    uscc, grade, previous, region_code = change
    event = Event(
        id=grade_changed_id(uscc, cause_event_id),
        type=_GRADE_CHANGED_TYPE,
        source=SOURCE,
        subject=uscc,
    )
    set_timestamp(event.occurred_at, grade.as_of)
    set_timestamp(event.recorded_at, utcnow())
    payload = event.grade_changed
    fill_grade(payload.grade, uscc, grade)
    payload.previous_level = level_to_proto(None if previous is None else previous.level)
    payload.region_code = region_code
    return event


_GRADE_CHANGED_TYPE = events_pb2.GradeChanged.DESCRIPTOR.full_name


def grade_changed_id(uscc: str, cause_event_id: str) -> str:
    """str(uuid.uuid5(_GRADE_CHANGED_IDS, f"{uscc}/{cause_event_id}")), without building a UUID."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + f"{uscc}/{cause_event_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = digest.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


_NAMESPACE = _GRADE_CHANGED_IDS.bytes
