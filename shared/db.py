"""One way to reach a database: engine, sessions and the unit of work.

SQLite (WAL) is the default; any SQLAlchemy URL works, and the SQL stays portable to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Dialect, Engine, Insert, UpdateBase, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.schema import Table
from sqlmodel import Session, SQLModel, create_engine


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys, PostgreSQL a pool check."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def missing_sqlite_file(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist: a reader should not create it by connecting."""
    parsed = make_url(url)
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database).exists()
    )


def create_tables(engine: Engine, tables: Sequence[type[SQLModel]]) -> None:
    """Creates the given tables (each service creates only its own, though all share one MetaData).
    Tables that belong together come together: the outbox brings its relay's watermarks."""
    SQLModel.metadata.create_all(engine, tables=with_companions(tables))


def with_companions(tables: Sequence[type[SQLModel]]) -> list[Table]:
    """The tables of `tables` and those created with them: a service database's whole schema."""
    wanted = [_table(model) for model in tables]
    for table in list(wanted):
        wanted += [_table(model) for model in _COMPANIONS.get(table.name, ()) if _table(model) not in wanted]
    return wanted


# table name -> tables created with it
_COMPANIONS: dict[str, list[type[SQLModel]]] = {}


def companion_tables(table_name: str, *models: type[SQLModel]) -> None:
    """Declares `models` to be created whenever the table `table_name` is (see create_tables)."""
    _COMPANIONS.setdefault(table_name, []).extend(models)


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def insert_unless_present(session: Session, table: Table, values: dict[str, Any], *, key: str) -> bool:
    """Inserts one row unless a row with the same `key` exists; True when inserted. One statement on
    SQLite and PostgreSQL (ON CONFLICT DO NOTHING), a read then an insert elsewhere."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = _insert_ignoring_conflicts(dialect, table, key)
        return bool(session.execute(statement, values).rowcount)  # type: ignore[attr-defined]
    if session.execute(select(table.c[key]).where(table.c[key] == values[key])).first() is not None:
        return False
    session.execute(table.insert(), values)
    return True


@cache
def _insert_ignoring_conflicts(dialect: str, table: Table, key: str) -> Insert:
    """Built once per table: statement construction costs more than a small insert."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=[key])


class Prepared:
    """A Core INSERT or UPDATE compiled once per dialect and run as one executemany of plain tuples (in
    `names` order) on the transaction's connection, each value through its column type's bind processor
    as SQLAlchemy would: SQLAlchemy's own per-row parameter handling cost more than the database's work
    on the hot path of ingest. The statement runs with `exec_driver_sql`, so engine events (tracing's SQL
    spans) still see it. A statement with anything SQLAlchemy fills in itself (a Python-side default)
    runs through `Connection.execute` instead."""

    def __init__(self, statement: UpdateBase, names: Sequence[str]) -> None:
        self.statement = statement
        self.names = tuple(names)
        self._plans: dict[int, _Plan | None] = {}  # by dialect object

    def run(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if session.new or session.dirty or session.deleted:
            session.flush()  # pending ORM objects first, as the ORM's autoflush would
        connection = session.connection()
        dialect = connection.dialect
        plan = self._plans[id(dialect)] if id(dialect) in self._plans else self._plan(dialect)
        if plan is None:
            connection.execute(self.statement, [dict(zip(self.names, row, strict=True)) for row in rows])
            return
        sql, order, processors, named = plan
        if named:
            keys = [self.names[i] for i in order]
            values: list[Any] = [
                {
                    key: row[i] if p is None else p(row[i])
                    for key, i, p in zip(keys, order, processors, strict=True)
                }
                for row in rows
            ]
        else:
            values = [
                tuple(row[i] if p is None else p(row[i]) for i, p in zip(order, processors, strict=True))
                for row in rows
            ]
        connection.exec_driver_sql(sql, values)

    def _plan(self, dialect: Dialect) -> _Plan | None:
        table_columns = set(self.statement.table.c.keys())  # type: ignore[attr-defined]
        compiled = self.statement.compile(
            dialect=dialect, column_keys=[name for name in self.names if name in table_columns]
        )
        binds = list(compiled.positiontup or compiled.binds)
        plan: _Plan | None = None
        if set(binds) <= set(self.names) and len(set(binds)) == len(binds):
            order = [self.names.index(name) for name in binds]
            processors = [
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in binds
            ]
            plan = (compiled.string, order, processors, compiled.positiontup is None)
        self._plans[id(dialect)] = plan
        return plan


_Plan = tuple[str, list[int], list[Any], bool]  # SQL, the index in a row of each parameter, processors, named


class UnitOfWork:
    """One database transaction. Nothing is written unless `commit()` is called.

    Services subclass it to hang their repositories on the session, so a state change and its outbox
    event are written together or not at all.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session: Session

    def __enter__(self) -> Self:
        self.session = Session(self.engine, expire_on_commit=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def flush(self) -> None:
        """Sends the pending writes without committing (a dry run checks what the database would say)."""
        self.session.flush()

    def rollback(self) -> None:
        self.session.rollback()


UnitOfWorkFactory = Callable[[], UnitOfWork]
