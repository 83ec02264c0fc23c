"""An enterprise's event history as scoring keeps it, and the enterprise projection it builds from the
registry's events: which events can be graded, and what a registration or update says about the
enterprise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from shared.enums import enum_name
from shared.events import InvalidEvent
from shared.industries import industry_problem, normalize_industry
from shared.regions import region_problem
from shared.uscc import uscc_problem

# Events whose payload carries the whole enterprise, newest wins in the projection.
PROFILE_EVENTS = ("enterprise_registered", "enterprise_updated", "enterprise_status_changed")


class HistoryEntry(NamedTuple):
    """One stored event of an enterprise's history (a NamedTuple: every regrade reads them all)."""

    event_id: str
    occurred_at: datetime
    event: events_pb2.Event
    # The grade level just after this event's time, when the history is stepped through in time order;
    # None until the enterprise is graded. A late event resumes the replay from here.
    level_after: int | None


@dataclass(frozen=True)
class ProjectedEnterprise:
    """What scoring needs to know about an enterprise, from the latest registration or update."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str  # canonical (letter + digits) when well formed, so risk lists filter by prefix
    # The SubjectType name, e.g. "SUBJECT_TYPE_UTILITY"; SUBJECT_TYPE_UNKNOWN_9 for a number from a newer
    # registry (graded as an unknown category).
    subject_type: str
    registered_date: str  # date of business registration ("YYYY-MM-DD"), empty when unknown
    registered_at: datetime  # when the event happened in the world; newer events win
    last_event_id: str


def check_source_event(event: events_pb2.Event, kind: str) -> enterprises_pb2.Enterprise | None:
    """The enterprise a registration or update carries (None for any other event); InvalidEvent, which
    sends the event to the dead-letter topic, when the event cannot be graded."""
    if kind in PROFILE_EVENTS and getattr(event, kind).enterprise.uscc:
        enterprise: enterprises_pb2.Enterprise = getattr(event, kind).enterprise
        _check_registration(event, enterprise)
        return enterprise
    problem = uscc_problem(event.subject)
    if problem:
        raise InvalidEvent(f"{event.type} subject {event.subject!r} {problem}")
    return None


def projection_of(
    enterprise: enterprises_pb2.Enterprise, occurred_at: datetime, event_id: str
) -> ProjectedEnterprise:
    return ProjectedEnterprise(
        uscc=enterprise.uscc,
        display_name=enterprise.display_name,
        region_code=enterprise.region_code,
        industry_code=_canonical_industry(enterprise.industry_code),
        subject_type=enum_name(enterprises_pb2.SubjectType, enterprise.subject_type),
        registered_date=enterprise.registered_date,
        registered_at=occurred_at,
        last_event_id=event_id,
    )


def _check_registration(event: events_pb2.Event, enterprise: enterprises_pb2.Enterprise) -> None:
    """An invalid registration cannot be graded."""
    if enterprise.uscc != event.subject:
        raise InvalidEvent(
            f"{_short_type(event)} payload uscc {enterprise.uscc!r} differs from "
            f"event subject {event.subject!r}"
        )
    problem = region_problem(enterprise.region_code)
    if problem:
        raise InvalidEvent(f"{_short_type(event)} region_code {enterprise.region_code!r} {problem}")


def _short_type(event: events_pb2.Event) -> str:
    return event.type.rsplit(".", 1)[-1] or "event"


def _canonical_industry(code: str) -> str:
    """Letter + digits, so risk-list filters match by prefix; a malformed code is kept as given."""
    return code if industry_problem(code) else normalize_industry(code)
