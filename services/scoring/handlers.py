"""Reacting to source events: keep each enterprise's event history, projection and grade current, and
announce level changes.

The handler runs inside the consumer's transaction (shared.consumer.EventConsumer): what it writes,
the processed-event mark and any GradeChanged outbox row commit together or not at all. It is also
idempotent on its own (the history is keyed by event id), so a duplicate changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlmodel import Session

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.scoring.convert import grade_to_proto, level_to_proto
from services.scoring.domain.features import HISTORY_TYPES
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.grading import replay
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.repository import ScoringRepository
from services.scoring.tables import EnterpriseProjection
from shared.db import UnitOfWork
from shared.events import Event, InvalidEvent, new_event, utcnow
from shared.industries import industry_problem, normalize_industry
from shared.outbox import add_events
from shared.regions import region_problem
from shared.uscc import uscc_problem

SOURCE = "//integrity/scoring"
# GradeChanged ids derive from the cause, so rebuilding scoring from republished sources yields the
# same event ids and downstream consumers can drop the repeats.
_GRADE_CHANGED_IDS = uuid.UUID("5f0c1c2e-9a43-4d0e-9d55-3f2b8c6a7e10")

log = logging.getLogger(__name__)
# Events whose payload carries the whole enterprise, newest wins in the projection.
_PROFILE_EVENTS = ("enterprise_registered", "enterprise_updated", "enterprise_status_changed")


class ScoringEventHandler:
    """An EventHandler (session, event, topic) for the scoring consumer group."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, uow: UnitOfWork, event: Event, topic: str) -> None:
        self.handle(uow.session, event, topic)

    def handle(self, session: Session, event: Event, topic: str) -> None:
        kind = event.WhichOneof("payload")
        if kind not in HISTORY_TYPES:
            log.debug("scoring ignores %s event %s on %s", event.type, event.id, topic)
            return
        if kind in _PROFILE_EVENTS and getattr(event, kind).enterprise.uscc:
            _check_registration(event, getattr(event, kind).enterprise)
        else:
            problem = uscc_problem(event.subject)
            if problem:
                raise InvalidEvent(f"{event.type} subject {event.subject!r} {problem}")
        occurred_at = event.occurred_at.ToDatetime(tzinfo=UTC)
        repository = ScoringRepository(session)
        if not repository.add_history_event(event, kind, occurred_at):
            return  # a duplicate: already in the history and graded
        if kind in _PROFILE_EVENTS:
            self._save_projection(repository, event, kind, occurred_at)
        self.regrade(session, event.subject, occurred_at, event.id)

    def regrade(self, session: Session, uscc: str, event_time: datetime, cause_event_id: str) -> None:
        """Grades the enterprise after an event at `event_time` joined its history."""
        repository = ScoringRepository(session)
        region_code = repository.region_code_of(uscc)
        if region_code is None:
            return  # kept in the history; graded once the registration arrives
        entries = repository.history_entries(uscc)
        history = [Event.FromString(entry.payload) for entry in entries]
        current = repository.get_grade(uscc)
        if current is None:
            grade, levels = replay(self.policy, history)  # the first grade: the whole history
        else:
            # Resume from the level just before this event's time: for the usual event, later than all
            # others, that is one step; a late event rewrites the steps from its time on.
            earlier = [entry.level_after for entry in entries if entry.occurred_at < event_time]
            previous = GradeLevel(earlier[-1]) if earlier and earlier[-1] is not None else None
            grade, levels = replay(
                self.policy, history, previous=previous, since=event_time, until=current.as_of
            )
        repository.set_levels_after(
            {
                entry.event_id: int(levels[entry.occurred_at])
                for entry in entries
                if entry.occurred_at in levels and entry.level_after != int(levels[entry.occurred_at])
            }
        )
        if grade is not None:
            record_grade(session, uscc, grade, current, cause_event_id, region_code)

    def _save_projection(
        self, repository: ScoringRepository, event: Event, kind: str, occurred_at: datetime
    ) -> None:
        enterprise = getattr(event, kind).enterprise
        if not enterprise.uscc:
            return
        if kind != "enterprise_registered" and repository.get_enterprise(enterprise.uscc) is None:
            return  # an update before the registration: the registration will bring the projection
        repository.save_enterprise(
            EnterpriseProjection(
                uscc=enterprise.uscc,
                display_name=enterprise.display_name,
                region_code=enterprise.region_code,
                industry_code=_canonical_industry(enterprise.industry_code),
                subject_type=enterprises_pb2.SubjectType.Name(enterprise.subject_type),
                registered_date=enterprise.registered_date,
                registered_at=occurred_at,
                last_event_id=event.id,
            )
        )


def record_grade(
    session: Session,
    uscc: str,
    grade: Grade,
    previous: Grade | None,
    cause_event_id: str,
    region_code: str,
) -> None:
    """Stores `grade` as current and appends it to the history; stages GradeChanged if the level changed.
    A grade that differs from `previous` only in as_of just moves the current grade's as_of."""
    repository = ScoringRepository(session)
    if previous is not None and same_assessment(previous, grade):
        repository.touch_grade(uscc, grade.as_of)
        return
    repository.save_grade(uscc, grade, previous, cause_event_id, recorded_at=utcnow())
    if previous is None or previous.level != grade.level:
        stage_grade_changed(session, uscc, grade, previous, cause_event_id, region_code)


def stage_grade_changed(
    session: Session,
    uscc: str,
    grade: Grade,
    previous: Grade | None,
    cause_event_id: str,
    region_code: str,
) -> None:
    """Stages the GradeChanged event of a new level in the caller's transaction (outbox)."""
    event = grade_changed_event(uscc, grade, previous, cause_event_id, region_code)
    add_events(session, TOPIC, [event])  # a plain INSERT: no ORM object to build and flush


def grade_changed_event(
    uscc: str, grade: Grade, previous: Grade | None, cause_event_id: str, region_code: str
) -> Event:
    """The GradeChanged event announcing `grade`, its id derived from the cause."""
    payload = events_pb2.GradeChanged(
        grade=grade_to_proto(uscc, grade),
        previous_level=level_to_proto(None if previous is None else previous.level),
        region_code=region_code,
    )
    event = new_event(SOURCE, uscc, payload, occurred_at=grade.as_of)
    event.id = str(uuid.uuid5(_GRADE_CHANGED_IDS, f"{uscc}/{cause_event_id}"))
    return event


def same_assessment(a: Grade, b: Grade) -> bool:
    """Everything but as_of is equal: nothing a reader would see as a change of grade."""
    return _assessment(a) == _assessment(b)


def _assessment(grade: Grade) -> tuple[object, ...]:
    return (
        grade.level,
        grade.score,
        grade.provisional,
        grade.reasons,
        grade.model_version,
        grade.policy_version,
        grade.feature_version,
    )


def _check_registration(event: Event, enterprise: enterprises_pb2.Enterprise) -> None:
    """An invalid registration cannot be graded; InvalidEvent sends it to the dead-letter topic."""
    if enterprise.uscc != event.subject:
        raise InvalidEvent(
            f"{_short_type(event)} payload uscc {enterprise.uscc!r} differs from "
            f"event subject {event.subject!r}"
        )
    problem = region_problem(enterprise.region_code)
    if problem:
        raise InvalidEvent(f"{_short_type(event)} region_code {enterprise.region_code!r} {problem}")


def _short_type(event: Event) -> str:
    return event.type.rsplit(".", 1)[-1] or "event"


def _canonical_industry(code: str) -> str:
    """Letter + digits, so risk-list filters match by prefix; a malformed code is kept as given."""
    return code if industry_problem(code) else normalize_industry(code)
