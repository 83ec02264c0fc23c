"""Scoring's reads and writes, in domain terms, on a session the caller's unit of work owns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Executable, Result, Table, and_, bindparam, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from services.scoring.domain.grades import Grade, GradeLevel, Reason
from services.scoring.risk_query import RiskCursor, RiskFilter
from services.scoring.tables import EnterpriseEventRow, EnterpriseProjection, GradeHistoryRow, GradeRow
from shared.db import insert_unless_present
from shared.events import Event
from shared.regions import region_prefix

_EVENTS: Table = EnterpriseEventRow.__table__  # type: ignore[attr-defined]
_GRADE_HISTORY: Table = GradeHistoryRow.__table__  # type: ignore[attr-defined]


_GRADES: Table = GradeRow.__table__  # type: ignore[attr-defined]


# Statements built once: building them per call (coercing values) cost more than running them.
_SELECT_REGION = sa_select(EnterpriseProjection.region_code).where(
    EnterpriseProjection.uscc == bindparam("key")  # type: ignore[arg-type]
)
_SELECT_GRADE = sa_select(_GRADES).where(_GRADES.c.uscc == bindparam("key"))
_UPDATE_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key"))  # SET: the other params
_SELECT_HISTORY = (
    sa_select(_EVENTS.c.event_id, _EVENTS.c.occurred_at, _EVENTS.c.payload, _EVENTS.c.level_after)
    .where(_EVENTS.c.uscc == bindparam("key"))
    .order_by(_EVENTS.c.occurred_at, _EVENTS.c.event_id)
)
_SET_LEVEL_AFTER = (
    sa_update(_EVENTS).where(_EVENTS.c.event_id == bindparam("key")).values(level_after=bindparam("level"))
)


class GradeChange(NamedTuple):
    """A new grade for an enterprise and the one it replaces (None for its first)."""

    uscc: str
    grade: Grade
    previous: Grade | None


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

    def _execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        """Runs a Core statement on the transaction's connection. Scoring's reads and writes are plain
        statements on the ingest hot path, where the ORM's execute wrapper cost as much as the statement;
        pending ORM objects (the projection) are flushed first, as the ORM's autoflush would."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            session.flush()
        return session.connection().execute(statement, params)

    # -- enterprise projection -------------------------------------------------------------------------

    def get_enterprise(self, uscc: str) -> EnterpriseProjection | None:
        return self.session.get(EnterpriseProjection, uscc)

    def region_code_of(self, uscc: str) -> str | None:
        """The projected enterprise's region code, None when not projected (yet). A plain read: the
        regrade after every event needs only this, and an ORM load costs several times more."""
        return self._execute(_SELECT_REGION, {"key": uscc}).scalar()

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
        return [
            HistoryEntry(row.event_id, as_utc(row.occurred_at), row.payload, row.level_after)
            for row in self._execute(_SELECT_HISTORY, {"key": uscc})
        ]

    def history(self, uscc: str) -> list[Event]:
        """The enterprise's events in time order (event id as tie-breaker)."""
        return [Event.FromString(entry.payload) for entry in self.history_entries(uscc)]

    def set_levels_after(self, levels: dict[str, int]) -> None:
        """Stores the level after each given event (by event id), in one executemany."""
        if levels:
            self._execute(_SET_LEVEL_AFTER, [{"key": key, "level": level} for key, level in levels.items()])

    # Grades are read and written with plain statements, never as ORM objects: it is the hot path of
    # ingest, and mixing the two would leave stale ORM copies in a session that saw a Core write.

    def get_grade(self, uscc: str) -> Grade | None:
        row = self._execute(_SELECT_GRADE, {"key": uscc}).first()
        return None if row is None else _grade_of(row)  # type: ignore[arg-type]

    def save_grade(
        self, uscc: str, grade: Grade, previous: Grade | None, cause_event_id: str, recorded_at: datetime
    ) -> None:
        """Makes `grade` current (replacing any current one) and appends it to the history, in the
        session's transaction."""
        values = {**_grade_values(grade), "updated_at": recorded_at}
        updated = self._execute(_UPDATE_GRADE, {"key": uscc, **values})
        if not updated.rowcount:  # type: ignore[attr-defined]
            self._execute(sa_insert(_GRADES), {"uscc": uscc, **values})
        self._execute(
            sa_insert(_GRADE_HISTORY), [_history_row(uscc, grade, previous, cause_event_id, recorded_at)]
        )

    def save_grades(self, changes: list[GradeChange], cause_event_id: str, recorded_at: datetime) -> None:
        """`save_grade` for many enterprises, one statement per table; `previous` must be each one's
        current grade as read in this transaction (None: no row yet)."""
        if not changes:
            return
        rows = [{"uscc": c.uscc, **_grade_values(c.grade), "updated_at": recorded_at} for c in changes]
        new = [row for row, c in zip(rows, changes, strict=True) if c.previous is None]
        existing = [row for row, c in zip(rows, changes, strict=True) if c.previous is not None]
        if new:
            self._execute(sa_insert(_GRADES), new)
        if existing:
            self._execute(_UPDATE_GRADE, [{**row, "key": row.pop("uscc")} for row in existing])
        history = [_history_row(*change, cause_event_id, recorded_at) for change in changes]
        self._execute(sa_insert(_GRADE_HISTORY), history)

    def touch_grades(self, as_of_by_uscc: dict[str, datetime]) -> None:
        """Moves the as_of of the given enterprises' current grades forward (nothing else changed)."""
        if as_of_by_uscc:
            statement = (
                sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key")).values(as_of=bindparam("at"))
            )
            self._execute(statement, [{"key": k, "at": at} for k, at in as_of_by_uscc.items()])

    def grades_of(self, usccs: list[str]) -> dict[str, Grade]:
        """The current grades of the given enterprises (those that have one), in one query."""
        statement = sa_select(_GRADES).where(_GRADES.c.uscc.in_(usccs))
        return {row.uscc: _grade_of(row) for row in self._execute(statement)}  # type: ignore[arg-type]

    def region_codes_of(self, usccs: list[str]) -> dict[str, str]:
        """uscc -> region code of the given enterprises that are projected, in one query."""
        table = EnterpriseProjection.__table__  # type: ignore[attr-defined]
        statement = sa_select(table.c.uscc, table.c.region_code).where(table.c.uscc.in_(usccs))
        return {row.uscc: row.region_code for row in self._execute(statement)}

    def histories_of(self, usccs: list[str]) -> dict[str, list[Event]]:
        """The event histories of the given enterprises, each in time order (event id as tie-breaker), in
        one query: a recompute reads a chunk of enterprises at a time instead of one query each."""
        statement = (
            sa_select(_EVENTS.c.uscc, _EVENTS.c.payload)
            .where(_EVENTS.c.uscc.in_(usccs))
            .order_by(_EVENTS.c.uscc, _EVENTS.c.occurred_at, _EVENTS.c.event_id)
        )
        histories: dict[str, list[Event]] = {}
        for row in self._execute(statement):
            histories.setdefault(row.uscc, []).append(Event.FromString(row.payload))
        return histories

    def touch_grade(self, uscc: str, as_of: datetime) -> None:
        """Moves the current grade's as_of forward when a recompute changed nothing else."""
        self.touch_grades({uscc: as_of})

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


def _history_row(
    uscc: str, grade: Grade, previous: Grade | None, cause_event_id: str, recorded_at: datetime
) -> dict[str, object]:
    return {
        "uscc": uscc,
        **_grade_values(grade),
        "previous_level": None if previous is None else int(previous.level),
        "recorded_at": recorded_at,
        "cause_event_id": cause_event_id,
    }


def _grade_values(grade: Grade) -> dict[str, object]:
    """The columns a grade fills in both the current grade and its history."""
    return {
        "level": int(grade.level),
        "score": grade.score,
        "provisional": grade.provisional,
        "reasons": _reasons_json(grade.reasons),
        "as_of": grade.as_of,
        "model_version": grade.model_version,
        "policy_version": grade.policy_version,
        "feature_version": grade.feature_version,
        "violation_probability": grade.violation_probability,
    }


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
