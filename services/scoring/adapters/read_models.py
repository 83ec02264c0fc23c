"""The API's hot reads (GetGrade, ListRiskEntries): one Core statement each on a connection of its own.

No ORM session, identity map or transaction bookkeeping: a read needs none, and on these paths they cost
more than the statement. A grade's stored reasons (JSON text) are parsed once per distinct text and then
shared: reasons are few phrases chosen by the policy, so a handful of texts cover every grade.
"""

from __future__ import annotations

import json
from collections import namedtuple
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Engine, Row, Select, Table, and_, bindparam, or_, select

from services.scoring.adapters.repository import as_utc
from services.scoring.adapters.tables import EnterpriseProjection, GradeRow
from services.scoring.domain.grades import Grade, GradeLevel, Reason
from services.scoring.domain.risk_list import RiskCursor, RiskEntry, RiskFilter
from shared.regions import region_prefix

_GRADES: Table = GradeRow.__table__  # type: ignore[attr-defined]
_PROJECTION: Table = EnterpriseProjection.__table__  # type: ignore[attr-defined]

_GRADE_COLUMNS = (
    _GRADES.c.uscc,
    _GRADES.c.level,
    _GRADES.c.score,
    _GRADES.c.provisional,
    _GRADES.c.reasons,
    _GRADES.c.as_of,
    _GRADES.c.violation_probability,
    _GRADES.c.policy_version,
    _GRADES.c.model_version,
    _GRADES.c.feature_version,
    _GRADES.c.label,
)

# Statements built once: building them per call cost more than running them.
_GRADE_AND_REGION = (
    select(*_GRADE_COLUMNS, _PROJECTION.c.region_code)
    .select_from(_GRADES.outerjoin(_PROJECTION, _PROJECTION.c.uscc == _GRADES.c.uscc))
    .where(_GRADES.c.uscc == bindparam("key"))
)
_REGION = select(_PROJECTION.c.region_code).where(_PROJECTION.c.uscc == bindparam("key"))
_RISK_LIST = select(
    *_GRADE_COLUMNS, _PROJECTION.c.display_name, _PROJECTION.c.region_code, _PROJECTION.c.industry_code
).select_from(_GRADES.join(_PROJECTION, _PROJECTION.c.uscc == _GRADES.c.uscc))

REASON_TEXTS_CACHED = 4096  # distinct reasons texts kept parsed per process


class SqlGradeReads:
    """Grades as the API reads them, from `engine` (each call checks a connection out and back)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def grade_and_region(self, uscc: str) -> tuple[Grade | None, str | None]:
        """The enterprise's current grade and its projected region code (None for what is not there)."""
        if self._engine.dispatch.before_cursor_execute:  # statements are traced: through SQLAlchemy
            with self._engine.connect() as connection:
                row = connection.execute(_GRADE_AND_REGION, {"key": uscc}).first()
                if row is None:
                    return None, connection.execute(_REGION, {"key": uscc}).scalar()
            return grade_of_row(row), row.region_code
        found = _direct_select(_GRADE_AND_REGION, self._engine.dialect).first(self._engine, {"key": uscc})
        if found is None:
            projected = _direct_select(_REGION, self._engine.dialect).first(self._engine, {"key": uscc})
            return None, None if projected is None else projected.region_code
        return grade_of_row(found), found.region_code  # type: ignore[arg-type]

    def risk_entries(self, risk_filter: RiskFilter, limit: int, after: RiskCursor | None) -> list[RiskEntry]:
        """Up to `limit` entries in risk order (level D first, then probability, USCC), after `after`."""
        statement = _risk_statement(*_shape(risk_filter, after))
        params = _risk_params(risk_filter, after, limit)
        if self._engine.dispatch.before_cursor_execute:  # statements are traced: through SQLAlchemy
            with self._engine.connect() as connection:
                rows = connection.execute(statement, params).all()
        else:
            rows = _direct_select(statement, self._engine.dialect).all(self._engine, params)
        return [
            RiskEntry(
                uscc=row.uscc,
                display_name=row.display_name,
                region_code=row.region_code,
                industry_code=row.industry_code,
                grade=grade_of_row(row),
            )
            for row in rows
        ]


class _DirectSelect:
    """A SELECT compiled once for a dialect and run on a pooled DBAPI cursor (the reads' counterpart of
    shared.db.Prepared, which runs bulk writes in a session's transaction): SQLAlchemy's own SQL, bind
    order and result conversions, without its per-statement execution machinery (which cost four times
    the statement on a one-row read)."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        self._compiled = statement.compile(dialect=dialect)
        self._order = tuple(self._compiled.positiontup or ()) if self._compiled.positional else None
        self._types = [column.type.dialect_impl(dialect) for column in statement.selected_columns]
        self._dialect = dialect
        self._results: list[Any] | None = None  # the conversions, once the driver said its column types
        self._row = namedtuple("_Row", [column.name for column in statement.selected_columns])  # type: ignore[misc]

    def first(self, engine: Engine, params: dict[str, Any]) -> Any:
        """The first row (its columns by name), or None."""
        rows = self._run(engine, params, one=True)
        return rows[0] if rows else None

    def all(self, engine: Engine, params: dict[str, Any]) -> list[Any]:
        """Every row (their columns by name)."""
        return self._run(engine, params, one=False)

    def _run(self, engine: Engine, params: dict[str, Any], one: bool) -> list[Any]:
        bound = self._compiled.construct_params(params)
        values = bound if self._order is None else tuple(bound[name] for name in self._order)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._compiled.string, values)
                found = cursor.fetchmany(1) if one else cursor.fetchall()
                if self._results is None:
                    self._results = [
                        kind.result_processor(self._dialect, described[1])
                        for kind, described in zip(self._types, cursor.description, strict=True)
                    ]
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back what the read began
        make, conversions = self._row, self._results
        return [
            make(*[v if p is None or v is None else p(v) for p, v in zip(conversions, row, strict=True)])
            for row in found
        ]


@lru_cache(maxsize=32)
def _direct_select(statement: Select[Any], dialect: Dialect) -> _DirectSelect:
    return _DirectSelect(statement, dialect)


def _shape(risk_filter: RiskFilter, after: RiskCursor | None) -> tuple[bool, ...]:
    """Which conditions a risk list has: one statement per shape, its values bound."""
    return (
        risk_filter.region_code is not None,
        risk_filter.industry_code is not None,
        risk_filter.level is not None,
        risk_filter.subject_type is not None,
        risk_filter.provisional is not None,
        after is not None,
    )


def _risk_params(risk_filter: RiskFilter, after: RiskCursor | None, limit: int) -> dict[str, Any]:
    # Division codes are digits only (and industry codes letter + digits): no LIKE escaping needed.
    # Canonical industry codes (letter + digits) nest by prefix: F52 holds F526 and F5265.
    params: dict[str, Any] = {"limit": limit}
    if risk_filter.region_code is not None:
        params["region"] = f"{region_prefix(risk_filter.region_code)}%"
    if risk_filter.industry_code is not None:
        params["industry"] = f"{risk_filter.industry_code}%"
    if risk_filter.level is not None:
        params["level"] = int(risk_filter.level)
    if risk_filter.subject_type is not None:
        params["subject_type"] = risk_filter.subject_type
    if risk_filter.provisional is not None:
        params["provisional"] = risk_filter.provisional
    if after is not None:
        params.update(
            after_level=after.level, after_probability=after.violation_probability, after_uscc=after.uscc
        )
    return params


@lru_cache(maxsize=64)
def _risk_statement(
    region: bool, industry: bool, level: bool, subject_type: bool, provisional: bool, after: bool
) -> Select[Any]:
    statement = _RISK_LIST
    if region:
        statement = statement.where(_PROJECTION.c.region_code.like(bindparam("region")))
    if industry:
        statement = statement.where(_PROJECTION.c.industry_code.like(bindparam("industry")))
    if level:
        statement = statement.where(_GRADES.c.level == bindparam("level"))
    if subject_type:
        statement = statement.where(_PROJECTION.c.subject_type == bindparam("subject_type"))
    if provisional:
        statement = statement.where(_GRADES.c.provisional == bindparam("provisional"))
    if after:
        level_, probability, uscc = _GRADES.c.level, _GRADES.c.violation_probability, _GRADES.c.uscc
        statement = statement.where(
            or_(
                level_ < bindparam("after_level"),
                and_(
                    level_ == bindparam("after_level"),
                    or_(
                        probability < bindparam("after_probability"),
                        and_(probability == bindparam("after_probability"), uscc > bindparam("after_uscc")),
                    ),
                ),
            )
        )
    return statement.order_by(
        _GRADES.c.level.desc(), _GRADES.c.violation_probability.desc(), _GRADES.c.uscc
    ).limit(bindparam("limit"))


def grade_of_row(row: Row[Any]) -> Grade:
    """The grade of a row holding the grade columns (`_GRADE_COLUMNS`)."""
    return Grade(
        level=GradeLevel(row.level),
        score=row.score,
        provisional=bool(row.provisional),
        reasons=reasons_of(row.reasons),
        as_of=as_utc(row.as_of),
        violation_probability=row.violation_probability,
        policy_version=row.policy_version,
        model_version=row.model_version,
        feature_version=row.feature_version,
        label=row.label,
    )


@lru_cache(maxsize=REASON_TEXTS_CACHED)
def reasons_of(text: str) -> tuple[Reason, ...]:
    """The reasons stored as `text` (a JSON list of {"code", "text", "text_zh"}); immutable, so shared."""
    return tuple(Reason(**reason) for reason in json.loads(text))
