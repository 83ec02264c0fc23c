"""Scoring's SQL repositories of the enterprise projection and the event history, in domain terms, on the
session of the unit of work that owns them (grades: grade_repository.py; appeals and credit repairs:
decision_repository.py).

Scoring's reads and writes on the ingest hot path are plain statements built once, never ORM objects:
the ORM's per-call cost was as high as the statements', and mixing the two would leave stale ORM copies
in a session that saw a Core write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Executable, Result, Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, SQLModel, select

from services.scoring.adapters.tables import EnterpriseEventRow, EnterpriseProjection
from services.scoring.domain.history import HistoryEntry, ProjectedEnterprise
from shared.db import Prepared, insert_unless_present
from shared.events import Event

V = TypeVar("V")


_EVENTS: Table = EnterpriseEventRow.__table__  # type: ignore[attr-defined]
_PROJECTION: Table = EnterpriseProjection.__table__  # type: ignore[attr-defined]

# Statements built once: building them per call (coercing values) cost more than running them.
_SELECT_REGION = sa_select(_PROJECTION.c.region_code).where(_PROJECTION.c.uscc == bindparam("key"))
_SELECT_HISTORY = (
    sa_select(_EVENTS.c.event_id, _EVENTS.c.occurred_at, _EVENTS.c.payload, _EVENTS.c.level_after)
    .where(_EVENTS.c.uscc == bindparam("key"))
    .order_by(_EVENTS.c.occurred_at, _EVENTS.c.event_id)
)
_INSERT_EVENT = _EVENTS.insert()
_INSERT_PROJECTION = _PROJECTION.insert()
_UPDATE_PROJECTION = sa_update(_PROJECTION).where(_PROJECTION.c.uscc == bindparam("key"))
_SET_LEVEL_AFTER = (
    sa_update(_EVENTS).where(_EVENTS.c.event_id == bindparam("key")).values(level_after=bindparam("level"))
)
_ADD_EVENTS = Prepared(_INSERT_EVENT, ("event_id", "uscc", "type", "occurred_at", "payload", "level_after"))
_SET_LEVELS = Prepared(_SET_LEVEL_AFTER, ("key", "level"))
_PROJECTED_FIELDS = (
    "display_name",
    "region_code",
    "industry_code",
    "subject_type",
    "registered_date",
    "registered_at",
    "last_event_id",
)


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        """Runs a Core statement on the transaction's connection (the ORM's execute wrapper cost as much
        as the statement); pending ORM objects (the projection) are flushed first, as the ORM's autoflush
        would."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            session.flush()
        return session.connection().execute(statement, params)


class SqlEnterpriseRepository(SqlRepository):
    def get(self, uscc: str) -> ProjectedEnterprise | None:
        row = self.session.get(EnterpriseProjection, uscc)
        return None if row is None else domain_of(ProjectedEnterprise, row)

    def add(self, enterprise: ProjectedEnterprise) -> None:
        self.session.add(EnterpriseProjection(**vars(enterprise)))

    def save(self, enterprise: ProjectedEnterprise) -> None:
        row = self.session.get(EnterpriseProjection, enterprise.uscc)  # in the session since `get`
        assert row is not None  # a projection is saved after it was read
        for field in _PROJECTED_FIELDS:
            setattr(row, field, getattr(enterprise, field))
        self.session.add(row)

    def get_many(self, usccs: Sequence[str]) -> dict[str, ProjectedEnterprise]:
        """In one query per 500 (a poll batch's enterprises)."""
        found = {}
        for chunk in chunks(usccs):
            for row in self._execute(sa_select(_PROJECTION).where(_PROJECTION.c.uscc.in_(chunk))):
                found[row.uscc] = domain_of(ProjectedEnterprise, row)  # type: ignore[arg-type]
        return found

    def put_many(self, added: Sequence[ProjectedEnterprise], saved: Sequence[ProjectedEnterprise]) -> None:
        """Inserts `added` and replaces `saved` (read in this transaction), an executemany each."""
        if added:
            self._execute(_INSERT_PROJECTION, [vars(enterprise) for enterprise in added])
        if saved:
            self._execute(_UPDATE_PROJECTION, [{**vars(e), "key": e.uscc} for e in saved])

    def region_code_of(self, uscc: str) -> str | None:
        """A plain read: the regrade after every event needs only this, and an ORM load costs several
        times more."""
        return self._execute(_SELECT_REGION, {"key": uscc}).scalar()

    def region_codes_of(self, usccs: Sequence[str]) -> dict[str, str]:
        statement = sa_select(_PROJECTION.c.uscc, _PROJECTION.c.region_code).where(
            _PROJECTION.c.uscc.in_(usccs)
        )
        return {row.uscc: row.region_code for row in self._execute(statement)}

    def usccs(self) -> list[str]:
        return list(self.session.exec(select(EnterpriseProjection.uscc).order_by(EnterpriseProjection.uscc)))


class SqlHistoryRepository(SqlRepository):
    def add(self, event: Event, kind: str, occurred_at: datetime) -> bool:
        """One INSERT that ignores a duplicate key: no read before it and no ORM object (the hot path of
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

    def entries(self, uscc: str) -> list[HistoryEntry]:
        """Plain tuples: the regrade reads them on every event, and ORM objects would cost more than the
        grading itself."""
        return [
            HistoryEntry(
                row.event_id, as_utc(row.occurred_at), Event.FromString(row.payload), row.level_after
            )
            for row in self._execute(_SELECT_HISTORY, {"key": uscc})
        ]

    def entries_of(self, usccs: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        """The histories of those of `usccs` that have events, in one query per 500 enterprises (each
        stored event decoded once)."""
        histories: dict[str, list[HistoryEntry]] = {}
        for chunk in chunks(usccs):
            statement = (
                sa_select(_EVENTS.c.uscc, *_SELECT_HISTORY.selected_columns)
                .where(_EVENTS.c.uscc.in_(chunk))
                .order_by(_EVENTS.c.uscc, _EVENTS.c.occurred_at, _EVENTS.c.event_id)
            )
            for row in self._execute(statement):
                histories.setdefault(row.uscc, []).append(
                    HistoryEntry(
                        row.event_id, as_utc(row.occurred_at), Event.FromString(row.payload), row.level_after
                    )
                )
        return histories

    def present(self, event_ids: Sequence[str]) -> set[str]:
        """Those of `event_ids` in the history (of any enterprise)."""
        found: set[str] = set()
        for chunk in chunks(event_ids):
            found.update(
                self._execute(sa_select(_EVENTS.c.event_id).where(_EVENTS.c.event_id.in_(chunk))).scalars()
            )
        return found

    def add_many(self, entries: Sequence[tuple[str, str, HistoryEntry]]) -> None:
        """(uscc, kind, entry) of events not in the history yet, in one executemany."""
        _ADD_EVENTS.run(
            self.session,
            [
                (
                    entry.event_id,
                    uscc,
                    kind,
                    entry.occurred_at,
                    entry.event.SerializeToString(),
                    entry.level_after,
                )
                for uscc, kind, entry in entries
            ],
        )

    def events(self, uscc: str) -> list[Event]:
        return [entry.event for entry in self.entries(uscc)]

    def events_of(self, usccs: Sequence[str]) -> dict[str, list[Event]]:
        """In one query: a recompute reads a batch of enterprises at a time instead of one query each."""
        statement = (
            sa_select(_EVENTS.c.uscc, _EVENTS.c.payload)
            .where(_EVENTS.c.uscc.in_(usccs))
            .order_by(_EVENTS.c.uscc, _EVENTS.c.occurred_at, _EVENTS.c.event_id)
        )
        histories: dict[str, list[Event]] = {}
        for row in self._execute(statement):
            histories.setdefault(row.uscc, []).append(Event.FromString(row.payload))
        return histories

    def set_levels_after(self, levels: dict[str, int]) -> None:
        """In one executemany."""
        _SET_LEVELS.run(self.session, list(levels.items()))


def chunks(values: Sequence[V], size: int = 500) -> list[Sequence[V]]:
    """`values` in slices of at most `size` (the bound parameters of one IN query)."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def as_utc(moment: datetime) -> datetime:
    """SQLite returns stored times without their zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def domain_of(value_type: type[V], row: SQLModel, **converted: object) -> V:
    """The domain value (a dataclass) of a row with the same field names: times in UTC, and the values in
    `converted` (field name -> value) in place of the row's own."""
    values = {}
    for name in _field_names(value_type):
        value = converted[name] if name in converted else getattr(row, name)
        values[name] = as_utc(value) if isinstance(value, datetime) else value
    return value_type(**values)


@cache
def _field_names(value_type: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(value_type))
