"""Scoring's SQL repository of grades: the current grade of each enterprise, the grade history, and the
risk lists read from them.

Grades are read and written with plain statements, never as ORM objects: it is the hot path of ingest
and of a recompute, and a recompute writes a batch of enterprises with one statement per table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import select

from services.scoring.adapters.repository import SqlRepository, as_utc
from services.scoring.adapters.tables import EnterpriseProjection, GradeHistoryRow, GradeRow
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel, Reason
from services.scoring.domain.risk_list import RiskCursor, RiskEntry, RiskFilter
from shared.regions import region_prefix

_GRADES: Table = GradeRow.__table__  # type: ignore[attr-defined]
_GRADE_HISTORY: Table = GradeHistoryRow.__table__  # type: ignore[attr-defined]

# Statements built once: building them per call (coercing values) cost more than running them.
_SELECT_GRADE = sa_select(_GRADES).where(_GRADES.c.uscc == bindparam("key"))
_INSERT_GRADE = sa_insert(_GRADES)
_UPDATE_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key"))  # SET: the other params
_TOUCH_GRADE = sa_update(_GRADES).where(_GRADES.c.uscc == bindparam("key")).values(as_of=bindparam("at"))
_INSERT_HISTORY = sa_insert(_GRADE_HISTORY)


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
        rows = [{"uscc": c.uscc, **_grade_values(c.grade), "updated_at": recorded_at} for c in changes]
        new = [row for row, c in zip(rows, changes, strict=True) if c.previous is None]
        existing = [row for row, c in zip(rows, changes, strict=True) if c.previous is not None]
        if new:
            self._execute(_INSERT_GRADE, new)
        if existing:
            self._execute(_UPDATE_GRADE, [{**row, "key": row.pop("uscc")} for row in existing])
        history = [_history_row(change, cause_event_id, recorded_at) for change in changes]
        self._execute(_INSERT_HISTORY, history)

    def touch(self, as_of_by_uscc: dict[str, datetime]) -> None:
        if as_of_by_uscc:
            self._execute(_TOUCH_GRADE, [{"key": k, "at": at} for k, at in as_of_by_uscc.items()])

    def risk_entries(self, risk_filter: RiskFilter, limit: int, after: RiskCursor | None) -> list[RiskEntry]:
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
                    GradeRow.level < after.level,  # type: ignore[arg-type]
                    and_(
                        GradeRow.level == after.level,  # type: ignore[arg-type]
                        or_(
                            GradeRow.violation_probability < after.violation_probability,
                            and_(
                                GradeRow.violation_probability == after.violation_probability,
                                GradeRow.uscc > after.uscc,  # type: ignore[arg-type]
                            ),
                        ),
                    ),
                )
            )
        statement = statement.order_by(
            GradeRow.level.desc(),  # type: ignore[attr-defined]
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


def _reasons_json(reasons: tuple[Reason, ...]) -> str:
    return json.dumps(
        [{"code": r.code, "text": r.text, "text_zh": r.text_zh} for r in reasons], ensure_ascii=False
    )


def _history_row(change: GradeChange, cause_event_id: str, recorded_at: datetime) -> dict[str, object]:
    return {
        "uscc": change.uscc,
        **_grade_values(change.grade),
        "previous_level": None if change.previous is None else int(change.previous.level),
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
        "label": grade.label,
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
        label=row.label,
    )
