"""Scoring's SQL repository of grades: the current grade of each enterprise, the grade history, and the
risk lists read from them.

Grades are read and written with plain statements, never as ORM objects: it is the hot path of ingest
and of a recompute, and a recompute writes a batch of enterprises with one statement per table.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update

from services.scoring.adapters.repository import SqlRepository, as_utc, chunks
from services.scoring.adapters.tables import EnterpriseProjection, GradeHistoryRow, GradeRow
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel, Reason
from services.scoring.domain.risk_list import RiskFilter
from services.scoring.domain.summary import SNAPSHOT_DAYS, GradeChangeItem, SummarySnapshot
from shared.db import Prepared
from shared.regions import region_prefix

_GRADES: Table = GradeRow.__table__  # type: ignore[attr-defined]
_GRADE_HISTORY: Table = GradeHistoryRow.__table__  # type: ignore[attr-defined]
_PROJECTION: Table = EnterpriseProjection.__table__  # type: ignore[attr-defined]

# Statements built once: building them per call (coercing values) cost more than running them.
_SELECT_GRADE = sa_select(_GRADES).where(_GRADES.c.uscc == bindparam("key"))
_INSERT_GRADE = sa_insert(_GRADES)
_UPDATE_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key"))  # SET: the other params
_TOUCH_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key")).values(as_of=bindparam("at"))
_INSERT_HISTORY = sa_insert(_GRADE_HISTORY)
# A write that changes nothing but takes the row's write lock (PostgreSQL) or the database's (SQLite).
_LOCK_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key")).values(uscc=_GRADES.c.uscc)
_KEYS = bindparam("keys", expanding=True)
_MOVE_AS_OF = sa_update(_GRADES).where(_GRADES.c.uscc.in_(_KEYS)).values(as_of=bindparam("at"))


class SqlGradeRepository(SqlRepository):
    def get(self, uscc: str) -> Grade | None:
        row = self._execute(_SELECT_GRADE, {"key": uscc}).first()
        return None if row is None else _grade_of(row)  # type: ignore[arg-type]

    def get_many(self, usccs: Sequence[str]) -> dict[str, Grade]:
        """In one query."""
        statement = sa_select(_GRADES).where(_GRADES.c.uscc.in_(usccs))
        return {row.uscc: _grade_of(row) for row in self._execute(statement)}  # type: ignore[arg-type]

    def save(self, changes: Sequence[GradeChange], cause_event_id: str, recorded_at: datetime) -> None:
        """One statement per table (an executemany for many enterprises)."""
        if not changes:
            return
        _INSERT_GRADES.run(
            self.session,
            [(c.uscc, *_grade_values(c.grade), recorded_at) for c in changes if c.previous is None],
        )
        _UPDATE_GRADES.run(
            self.session,
            [(c.uscc, *_grade_values(c.grade), recorded_at) for c in changes if c.previous is not None],
        )
        _ADD_HISTORY.run(
            self.session, [_history_row(change, cause_event_id, recorded_at) for change in changes]
        )

    def save_batch(
        self,
        recorded: Sequence[tuple[GradeChange, str, datetime]],
        final: Mapping[str, tuple[Grade, datetime | None]],
        stored: Collection[str],
    ) -> None:
        """A batch's grades, one statement per table: the history rows of `recorded` (change, cause event
        id, recorded at) in order, and each enterprise's current grade as the batch leaves it (`final`:
        the grade and when it was last saved, None when only its as_of moved); `stored`: the enterprises
        that had a grade before the batch."""
        rows = [
            (uscc, *_grade_values(grade), updated_at)
            for uscc, (grade, updated_at) in final.items()
            if updated_at is not None
        ]
        _INSERT_GRADES.run(self.session, [row for row in rows if row[0] not in stored])
        _UPDATE_GRADES.run(self.session, [row for row in rows if row[0] in stored])
        self.touch({uscc: grade.as_of for uscc, (grade, updated_at) in final.items() if updated_at is None})
        _ADD_HISTORY.run(self.session, [_history_row(c, cause, at) for c, cause, at in recorded])

    def lock(self, uscc: str) -> None:
        self._execute(_LOCK_GRADE, {"key": uscc})

    def touch(self, as_of_by_uscc: dict[str, datetime]) -> None:
        _TOUCH_GRADES.run(self.session, list(as_of_by_uscc.items()))

    def move_as_of(self, usccs: Sequence[str], as_of: datetime) -> None:
        """`touch` to one time: one UPDATE per 500 enterprises, not a row of parameters each (a recompute's
        grades that only aged)."""
        for chunk in chunks(usccs):
            self._execute(_MOVE_AS_OF, {"keys": list(chunk), "at": as_of})

    # --- aggregates (a regulator's dashboard) and one enterprise's history --------------------------------

    def level_counts(self, risk_filter: RiskFilter, prefix_length: int) -> list[tuple[str, int, bool, int]]:
        """(region code prefix of `prefix_length` digits, level, provisional, how many) of current grades."""
        group = func.substr(_PROJECTION.c.region_code, 1, prefix_length)
        statement = _scoped(
            sa_select(group, _GRADES.c.level, _GRADES.c.provisional, func.count()).select_from(
                _GRADES.join(_PROJECTION, _PROJECTION.c.uscc == _GRADES.c.uscc)
            ),
            risk_filter,
        ).group_by(group, _GRADES.c.level, _GRADES.c.provisional)
        return [(row[0], row[1], bool(row[2]), row[3]) for row in self._execute(statement)]

    def monthly_level_deltas(self, risk_filter: RiskFilter) -> list[tuple[str, int | None, int, int]]:
        """(month "YYYY-MM" of the grade's as_of, previous level, level, how many) over the grade history,
        for the rows that changed the level (a regrade at the same level moves nothing)."""
        month = self._month(_GRADE_HISTORY.c.as_of)
        statement = _scoped(
            sa_select(month, _GRADE_HISTORY.c.previous_level, _GRADE_HISTORY.c.level, func.count())
            .select_from(_GRADE_HISTORY.join(_PROJECTION, _PROJECTION.c.uscc == _GRADE_HISTORY.c.uscc))
            .where(_level_changed()),
            risk_filter,
        ).group_by(month, _GRADE_HISTORY.c.previous_level, _GRADE_HISTORY.c.level)
        return [(row[0], row[1], row[2], row[3]) for row in self._execute(statement)]

    def level_changes_since(self, risk_filter: RiskFilter, since: datetime) -> list[tuple[int, int, int]]:
        """(previous level, level, how many) of the level changes whose grade is as of `since` or later."""
        statement = (
            _scoped(
                sa_select(_GRADE_HISTORY.c.previous_level, _GRADE_HISTORY.c.level, func.count())
                .select_from(_GRADE_HISTORY.join(_PROJECTION, _PROJECTION.c.uscc == _GRADE_HISTORY.c.uscc))
                .where(_GRADE_HISTORY.c.previous_level.is_not(None), _level_changed())
                .where(_GRADE_HISTORY.c.as_of >= since),
                risk_filter,
            )
        ).group_by(_GRADE_HISTORY.c.previous_level, _GRADE_HISTORY.c.level)
        return [(row[0], row[1], row[2]) for row in self._execute(statement)]

    def latest_level_changes(
        self, risk_filter: RiskFilter, since: datetime, limit: int
    ) -> list[GradeChangeItem]:
        """The newest level changes as of `since` or later, newest first."""
        statement = (
            _scoped(
                sa_select(
                    _GRADE_HISTORY.c.uscc,
                    _PROJECTION.c.display_name,
                    _PROJECTION.c.region_code,
                    _GRADE_HISTORY.c.previous_level,
                    _GRADE_HISTORY.c.level,
                    _GRADE_HISTORY.c.as_of,
                )
                .select_from(_GRADE_HISTORY.join(_PROJECTION, _PROJECTION.c.uscc == _GRADE_HISTORY.c.uscc))
                .where(_GRADE_HISTORY.c.previous_level.is_not(None), _level_changed())
                .where(_GRADE_HISTORY.c.as_of >= since),
                risk_filter,
            )
            .order_by(_GRADE_HISTORY.c.as_of.desc(), _GRADE_HISTORY.c.id.desc())
            .limit(limit)
        )
        return [
            GradeChangeItem(
                row.uscc, row.display_name, row.region_code, GradeLevel(row.previous_level),
                GradeLevel(row.level), as_utc(row.as_of),
            )
            for row in self._execute(statement)
        ]  # fmt: skip

    def history(
        self, uscc: str, limit: int, after_id: int | None
    ) -> list[tuple[int, Grade, int | None, datetime]]:
        """(row id, grade, previous level, recorded at) of the enterprise's grades, oldest first."""
        statement = sa_select(_GRADE_HISTORY).where(_GRADE_HISTORY.c.uscc == uscc)
        if after_id is not None:
            statement = statement.where(_GRADE_HISTORY.c.id > after_id)
        statement = statement.order_by(_GRADE_HISTORY.c.id).limit(limit)
        return [
            (row.id, _grade_of(row), row.previous_level, as_utc(row.recorded_at))  # type: ignore[arg-type]
            for row in self._execute(statement)
        ]

    def snapshot(self, taken_at: datetime) -> SummarySnapshot:
        """Every grade and level change counted per region code and subject type (two grouped scans)."""
        grades = (
            sa_select(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, _GRADES.c.level, _GRADES.c.provisional,
                func.count(),
            )
            .select_from(_GRADES.join(_PROJECTION, _PROJECTION.c.uscc == _GRADES.c.uscc))
            .group_by(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, _GRADES.c.level, _GRADES.c.provisional
            )
        )  # fmt: skip
        month = self._month(_GRADE_HISTORY.c.as_of)
        moves = (
            sa_select(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, month, _GRADE_HISTORY.c.previous_level,
                _GRADE_HISTORY.c.level, func.count(),
            )
            .select_from(_GRADE_HISTORY.join(_PROJECTION, _PROJECTION.c.uscc == _GRADE_HISTORY.c.uscc))
            .where(_level_changed())
            .group_by(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, month, _GRADE_HISTORY.c.previous_level,
                _GRADE_HISTORY.c.level,
            )
        )  # fmt: skip
        day = self._month(_GRADE_HISTORY.c.as_of, day=True)
        recent = (
            sa_select(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, day, _GRADE_HISTORY.c.previous_level,
                _GRADE_HISTORY.c.level, func.count(),
            )
            .select_from(_GRADE_HISTORY.join(_PROJECTION, _PROJECTION.c.uscc == _GRADE_HISTORY.c.uscc))
            .where(_GRADE_HISTORY.c.previous_level.is_not(None), _level_changed())
            .where(_GRADE_HISTORY.c.as_of >= taken_at - timedelta(days=SNAPSHOT_DAYS))
            .group_by(
                _PROJECTION.c.region_code, _PROJECTION.c.subject_type, day, _GRADE_HISTORY.c.previous_level,
                _GRADE_HISTORY.c.level,
            )
        )  # fmt: skip
        return SummarySnapshot(
            taken_at,
            {(r[0], r[1], r[2], bool(r[3])): r[4] for r in self._execute(grades)},
            {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in self._execute(moves)},
            {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in self._execute(recent)},
        )

    def _month(self, column: ColumnElement[datetime], day: bool = False) -> ColumnElement[str]:
        """ "YYYY-MM" (or "YYYY-MM-DD") of a stored time, in UTC: SQLite keeps ISO text, PostgreSQL a
        timestamptz."""
        if self.session.get_bind().dialect.name == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD" if day else "YYYY-MM")
        return func.substr(column, 1, 10 if day else 7)


def _level_changed() -> ColumnElement[bool]:
    """A history row that set a level: the first grade, or a move from another level."""
    return or_(
        _GRADE_HISTORY.c.previous_level.is_(None), _GRADE_HISTORY.c.previous_level != _GRADE_HISTORY.c.level
    )


def _scoped(statement: Select, risk_filter: RiskFilter) -> Select:
    """The statement narrowed to the filter's region, industry and subject type (on the projection; a
    summary counts every level, so the filter's level is not applied)."""
    if risk_filter.region_code is not None:
        statement = statement.where(
            _PROJECTION.c.region_code.like(f"{region_prefix(risk_filter.region_code)}%")
        )
    if risk_filter.industry_code is not None:
        statement = statement.where(_PROJECTION.c.industry_code.like(f"{risk_filter.industry_code}%"))
    if risk_filter.subject_type is not None:
        statement = statement.where(_PROJECTION.c.subject_type == risk_filter.subject_type)
    return statement


@lru_cache(maxsize=4096)  # grades share a few combinations of reasons
def _reasons_json(reasons: tuple[Reason, ...]) -> str:
    return json.dumps(
        [{"code": r.code, "text": r.text, "text_zh": r.text_zh} for r in reasons], ensure_ascii=False
    )


def _history_row(change: GradeChange, cause_event_id: str, recorded_at: datetime) -> tuple[object, ...]:
    """A grade history row, in _HISTORY_COLUMNS order."""
    previous = None if change.previous is None else int(change.previous.level)
    return (change.uscc, *_grade_values(change.grade), previous, recorded_at, cause_event_id)


def _grade_values(grade: Grade) -> tuple[object, ...]:
    """The columns a grade fills in both the current grade and its history (_GRADE_COLUMNS' order)."""
    return (
        int(grade.level),
        grade.score,
        grade.provisional,
        _reasons_json(grade.reasons),
        grade.as_of,
        grade.model_version,
        grade.policy_version,
        grade.feature_version,
        grade.violation_probability,
        grade.label,
    )


_GRADE_COLUMNS = (
    "level",
    "score",
    "provisional",
    "reasons",
    "as_of",
    "model_version",
    "policy_version",
    "feature_version",
    "violation_probability",
    "label",
)
# Grades written as plain tuples (see Prepared): ingest and recompute write them in bulk.
_INSERT_GRADES = Prepared(_INSERT_GRADE, ("uscc", *_GRADE_COLUMNS, "updated_at"))
_UPDATE_GRADES = Prepared(_UPDATE_GRADE, ("key", *_GRADE_COLUMNS, "updated_at"))
_TOUCH_GRADES = Prepared(_TOUCH_GRADE, ("key", "at"))
_ADD_HISTORY = Prepared(
    _INSERT_HISTORY, ("uscc", *_GRADE_COLUMNS, "previous_level", "recorded_at", "cause_event_id")
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
        label=row.label,
    )
