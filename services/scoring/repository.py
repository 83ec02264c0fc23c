"""Scoring's reads and writes, in domain terms, on a session the caller's unit of work owns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Table, and_, bindparam, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from services.scoring.domain import Grade, GradeLevel, Reason
from services.scoring.risk_query import RiskCursor, RiskFilter
from services.scoring.tables import EnterpriseEventRow, EnterpriseProjection, GradeHistoryRow, GradeRow
from shared.db import insert_unless_present
from shared.events import Event
from shared.regions import region_prefix

_EVENTS: Table = EnterpriseEventRow.__table__  # type: ignore[attr-defined]
_GRADE_HISTORY: Table = GradeHistoryRow.__table__  # type: ignore[attr-defined]


class HistoryEntry(NamedTuple):
    """One stored event of an enterprise's history (see EnterpriseEventRow)."""

    event_id: str
    occurred_at: datetime
    payload: bytes
    level_after: int | None


@dataclass(frozen=True)
class RiskEntry:
    """One line of a risk list: the enterprise and its current grade."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str
    grade: Grade

    @property
    def cursor(self) -> RiskCursor:
        return RiskCursor(self.grade.violation_probability, self.uscc)


class ScoringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- enterprise projection -------------------------------------------------------------------------

    def get_enterprise(self, uscc: str) -> EnterpriseProjection | None:
        return self.session.get(EnterpriseProjection, uscc)

    def save_enterprise(self, enterprise: EnterpriseProjection) -> None:
        """Inserts or replaces the projection row, unless the stored one comes from a later event."""
        stored = self.get_enterprise(enterprise.uscc)
        if stored is None:
            self.session.add(enterprise)
            return
        if as_utc(stored.registered_at) > as_utc(enterprise.registered_at):
            return  # an older event arriving late must not undo a newer one
        for field in ("display_name", "region_code", "industry_code", "subject_type", "registered_date"):
            setattr(stored, field, getattr(enterprise, field))
        stored.registered_at = enterprise.registered_at
        stored.last_event_id = enterprise.last_event_id
        self.session.add(stored)

    def enterprise_usccs(self) -> list[str]:
        return list(self.session.exec(select(EnterpriseProjection.uscc).order_by(EnterpriseProjection.uscc)))

    # -- event history -----------------------------------------------------------------------------------

    def add_history_event(self, event: Event, kind: str, occurred_at: datetime) -> bool:
        """Keeps the event in its enterprise's history; False if it is already there (a duplicate).

        One INSERT that ignores a duplicate key: no read before it and no ORM object (the hot path of
        ingest). Later reads in the same transaction see the row."""
        values = {
            "event_id": event.id,
            "uscc": event.subject,
            "type": kind,
            "occurred_at": occurred_at,
            "payload": event.SerializeToString(),
            "level_after": None,
        }
        return insert_unless_present(self.session, _EVENTS, values, key="event_id")

    def history_entries(self, uscc: str) -> list[HistoryEntry]:
        """The enterprise's stored events in time order (event id as tie-breaker), as plain tuples: the
        regrade reads them on every event, and ORM objects would cost more than the grading itself."""
        statement = (
            sa_select(_EVENTS.c.event_id, _EVENTS.c.occurred_at, _EVENTS.c.payload, _EVENTS.c.level_after)
            .where(_EVENTS.c.uscc == uscc)
            .order_by(_EVENTS.c.occurred_at, _EVENTS.c.event_id)
        )
        return [
            HistoryEntry(row.event_id, as_utc(row.occurred_at), row.payload, row.level_after)
            for row in self.session.execute(statement)
        ]

    def history(self, uscc: str) -> list[Event]:
        """The enterprise's events in time order (event id as tie-breaker)."""
        return [Event.FromString(entry.payload) for entry in self.history_entries(uscc)]

    def set_levels_after(self, levels: dict[str, int]) -> None:
        """Stores the level after each given event (by event id), in one executemany."""
        if levels:
            statement = (
                sa_update(_EVENTS)
                .where(_EVENTS.c.event_id == bindparam("id"))
                .values(level_after=bindparam("level"))
            )
            self.session.execute(statement, [{"id": key, "level": level} for key, level in levels.items()])

    # -- grades ------------------------------------------------------------------------------------------

    def get_grade(self, uscc: str) -> Grade | None:
        row = self.session.get(GradeRow, uscc)
        return None if row is None else _grade_of(row)

    def save_grade(
        self, uscc: str, grade: Grade, previous: Grade | None, cause_event_id: str, recorded_at: datetime
    ) -> None:
        """Makes `grade` current and appends it to the history, in the session's transaction."""
        reasons = _reasons_json(grade.reasons)
        row = self.session.get(GradeRow, uscc) or GradeRow(uscc=uscc)  # type: ignore[call-arg]
        row.level = int(grade.level)
        row.score = grade.score
        row.provisional = grade.provisional
        row.reasons = reasons
        row.as_of = grade.as_of
        row.model_version = grade.model_version
        row.policy_version = grade.policy_version
        row.feature_version = grade.feature_version
        row.violation_probability = grade.violation_probability
        row.updated_at = recorded_at
        self.session.add(row)
        # A plain INSERT: the history is only appended to, never read back in this transaction.
        self.session.execute(
            sa_insert(_GRADE_HISTORY),
            {
                "uscc": uscc,
                "level": int(grade.level),
                "previous_level": None if previous is None else int(previous.level),
                "score": grade.score,
                "provisional": grade.provisional,
                "reasons": reasons,
                "violation_probability": grade.violation_probability,
                "as_of": grade.as_of,
                "model_version": grade.model_version,
                "policy_version": grade.policy_version,
                "feature_version": grade.feature_version,
                "recorded_at": recorded_at,
                "cause_event_id": cause_event_id,
            },
        )

    def touch_grade(self, uscc: str, as_of: datetime) -> None:
        """Moves the current grade's as_of forward when a recompute changed nothing else."""
        row = self.session.get(GradeRow, uscc)
        if row is not None:
            row.as_of = as_of
            self.session.add(row)

    def grade_history(self, uscc: str) -> list[GradeHistoryRow]:
        statement = select(GradeHistoryRow).where(GradeHistoryRow.uscc == uscc).order_by(GradeHistoryRow.id)
        return list(self.session.exec(statement))

    # -- risk lists --------------------------------------------------------------------------------------

    def list_risk_entries(
        self, risk_filter: RiskFilter, limit: int, after: RiskCursor | None
    ) -> list[RiskEntry]:
        """Up to `limit` entries matching the filter, highest violation probability first, then by USCC."""
        statement = select(GradeRow, EnterpriseProjection).join(
            EnterpriseProjection,
            EnterpriseProjection.uscc == GradeRow.uscc,  # type: ignore[arg-type]
        )
        if risk_filter.region_code is not None:
            # Division codes are digits only (and industry codes letter + digits): no LIKE escaping needed.
            prefix = region_prefix(risk_filter.region_code)
            statement = statement.where(EnterpriseProjection.region_code.like(f"{prefix}%"))  # type: ignore[attr-defined]
        if risk_filter.industry_code is not None:
            # Canonical industry codes (letter + digits) nest by prefix: F52 holds F526 and F5265.
            statement = statement.where(
                EnterpriseProjection.industry_code.like(f"{risk_filter.industry_code}%")  # type: ignore[attr-defined]
            )
        if risk_filter.level is not None:
            statement = statement.where(GradeRow.level == int(risk_filter.level))
        if risk_filter.subject_type is not None:
            statement = statement.where(EnterpriseProjection.subject_type == risk_filter.subject_type)
        if after is not None:
            statement = statement.where(
                or_(
                    GradeRow.violation_probability < after.violation_probability,
                    and_(
                        GradeRow.violation_probability == after.violation_probability,
                        GradeRow.uscc > after.uscc,  # type: ignore[arg-type]
                    ),
                )
            )
        statement = statement.order_by(
            GradeRow.violation_probability.desc(),  # type: ignore[attr-defined]
            GradeRow.uscc,
        ).limit(limit)
        return [
            RiskEntry(
                uscc=grade_row.uscc,
                display_name=enterprise.display_name,
                region_code=enterprise.region_code,
                industry_code=enterprise.industry_code,
                grade=_grade_of(grade_row),
            )
            for grade_row, enterprise in self.session.exec(statement)
        ]


def as_utc(moment: datetime) -> datetime:
    """SQLite returns stored times without their zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _reasons_json(reasons: tuple[Reason, ...]) -> str:
    return json.dumps(
        [{"code": r.code, "text": r.text, "text_zh": r.text_zh} for r in reasons], ensure_ascii=False
    )


def _grade_of(row: GradeRow) -> Grade:
    return Grade(
        level=GradeLevel(row.level),
        score=row.score,
        provisional=row.provisional,
        reasons=tuple(Reason(**reason) for reason in json.loads(row.reasons)),
        as_of=as_utc(row.as_of),
        violation_probability=row.violation_probability,
        policy_version=row.policy_version,
        model_version=row.model_version,
        feature_version=row.feature_version,
    )
