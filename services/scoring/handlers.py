"""Reacting to source events: keep the enterprise projection and grades current, announce level changes.

The handler runs inside the consumer's transaction (shared.consumer.EventConsumer): what it writes,
the processed-event mark and any GradeChanged outbox row commit together or not at all.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC

from sqlmodel import Session

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.scoring.convert import grade_to_proto, level_to_proto
from services.scoring.domain import Grade, grade_for_new_enterprise
from services.scoring.policy import Policy
from services.scoring.repository import ScoringRepository
from services.scoring.tables import EnterpriseProjection
from shared import topics
from shared.events import Event, InvalidEvent, new_event, utcnow
from shared.industries import industry_problem, normalize_industry
from shared.outbox import add_event
from shared.regions import region_problem

SOURCE = "//integrity/scoring"
# GradeChanged ids derive from the cause, so rebuilding scoring from republished sources yields the
# same event ids and downstream consumers can drop the repeats.
_GRADE_CHANGED_IDS = uuid.UUID("5f0c1c2e-9a43-4d0e-9d55-3f2b8c6a7e10")

log = logging.getLogger(__name__)


class ScoringEventHandler:
    """An EventHandler (session, event, topic) for the scoring consumer group."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, session: Session, event: Event, topic: str) -> None:
        kind = event.WhichOneof("payload")
        if kind == "enterprise_registered":
            self._enterprise_registered(session, event)
        else:
            # Complaints and inspections are graded by a later issue; until then they change nothing.
            log.debug("scoring ignores %s event %s on %s", event.type, event.id, topic)

    def _enterprise_registered(self, session: Session, event: Event) -> None:
        enterprise = event.enterprise_registered.enterprise
        _check_registration(event, enterprise)
        occurred_at = event.occurred_at.ToDatetime(tzinfo=UTC)
        repository = ScoringRepository(session)
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
        if repository.get_grade(enterprise.uscc) is None:
            # Point in time: graded as of the registration, not as of when scoring heard about it.
            grade = grade_for_new_enterprise(self.policy, as_of=occurred_at)
            record_grade(session, enterprise.uscc, grade, None, event.id, enterprise.region_code)


def record_grade(
    session: Session,
    uscc: str,
    grade: Grade,
    previous: Grade | None,
    cause_event_id: str,
    region_code: str,
) -> None:
    """Stores `grade` as current and appends it to the history; stages GradeChanged if the level changed."""
    ScoringRepository(session).save_grade(uscc, grade, previous, cause_event_id, recorded_at=utcnow())
    if previous is not None and previous.level == grade.level:
        return
    payload = events_pb2.GradeChanged(
        grade=grade_to_proto(uscc, grade),
        previous_level=level_to_proto(None if previous is None else previous.level),
        region_code=region_code,
    )
    event = new_event(SOURCE, uscc, payload, occurred_at=grade.as_of)
    event.id = str(uuid.uuid5(_GRADE_CHANGED_IDS, f"{uscc}/{cause_event_id}"))
    add_event(session, topics.SCORING, event)


def _check_registration(event: Event, enterprise: enterprises_pb2.Enterprise) -> None:
    """An invalid registration cannot be graded; InvalidEvent sends it to the dead-letter topic."""
    if enterprise.uscc != event.subject:
        raise InvalidEvent(
            f"EnterpriseRegistered payload uscc {enterprise.uscc!r} differs from "
            f"event subject {event.subject!r}"
        )
    problem = region_problem(enterprise.region_code)
    if problem:
        raise InvalidEvent(f"EnterpriseRegistered region_code {enterprise.region_code!r} {problem}")


def _canonical_industry(code: str) -> str:
    """Letter + digits, so risk-list filters match by prefix; a malformed code is kept as given."""
    return code if industry_problem(code) else normalize_industry(code)
