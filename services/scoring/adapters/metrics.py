"""Scoring's own metrics: grades by level and region (read from its database when Prometheus scrapes) and
the time from an event's recording at its source to the grade that took it in."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Histogram
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from services.scoring.adapters.tables import EnterpriseProjection, GradeRow
from services.scoring.domain.grades import GradeLevel
from shared.events import Event
from shared.metrics import Reading, ReadingSource, describe

GRADES = describe("integrity_grades", "Enterprises by current grade level and region code")

EVENT_TO_GRADE = Histogram(
    "integrity_event_to_grade_seconds",
    "From an event's recording at its source (recorded_at) to scoring's regrade with it, by event type",
    ["event_type"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0),
)


def observe_event_to_grade(event: Event, now: datetime | None = None) -> None:
    if not event.HasField("recorded_at"):
        return
    recorded = event.recorded_at.ToDatetime(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - recorded).total_seconds()
    EVENT_TO_GRADE.labels(event.type.rsplit(".", 1)[-1]).observe(max(0.0, seconds))


def grade_readings(engine: Engine) -> ReadingSource:
    """Current grades counted by level (A-D) and the enterprise's region (unknown: no projection yet)."""

    def read() -> list[Reading]:
        region = func.coalesce(EnterpriseProjection.region_code, "unknown")
        statement = (
            select(GradeRow.level, region, func.count())
            .select_from(GradeRow)
            .outerjoin(EnterpriseProjection, EnterpriseProjection.uscc == GradeRow.uscc)  # type: ignore[arg-type]
            .group_by(GradeRow.level, region)
        )
        with Session(engine) as session:
            rows = session.exec(statement).all()
        return [
            Reading(GRADES, {"level": GradeLevel(level).name, "region": code}, float(count))
            for level, code, count in rows
        ]

    return read
