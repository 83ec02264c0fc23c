"""A recompute over two processes (each batch read, graded with numpy and written in one transaction of
its own process) leaves the same grades, grade history and GradeChanged events as the scalar recompute in
one process, on SQLite and PostgreSQL; a second run, from the grades the first left, too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Engine, delete, select

from integrity.enterprises.v1 import enterprises_pb2
from operations.demo.province import generate_province
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import (
    TABLES,
    EnterpriseEventRow,
    EnterpriseProjection,
    GradeHistoryRow,
    GradeRow,
)
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork, open_unit_of_work
from services.scoring.use_cases.recompute import PROCESSES, recompute_all
from shared.db import create_tables, make_engine
from shared.outbox import OutboxRecord
from tests.unit.scoring.test_scoring_batch_grading import END, decisions

POLICY = load_policy()
RECORDED = {"updated_at", "recorded_at", "id", "value"}  # when each row was written (and its bytes)


def seed(engine: Engine) -> None:
    """A generated province's histories (with scoring's decisions), projected, never graded."""
    projections, rows = [], []
    for index, enterprise in enumerate(generate_province(90, seed=23, end=END)):
        events = list(enterprise.events)
        registration = next(e for e in events if e.WhichOneof("payload") == "enterprise_registered")
        profile: enterprises_pb2.Enterprise = registration.enterprise_registered.enterprise
        projections.append(
            {
                "uscc": enterprise.uscc,
                "display_name": profile.display_name,
                "region_code": profile.region_code,
                "registered_at": registration.occurred_at.ToDatetime(tzinfo=UTC),
                "last_event_id": registration.id,
            }
        )
        for event in events + decisions(enterprise.uscc, index, events):
            rows.append(
                {
                    "event_id": event.id,
                    "uscc": enterprise.uscc,
                    "type": event.WhichOneof("payload"),
                    "occurred_at": event.occurred_at.ToDatetime(tzinfo=UTC),
                    "payload": event.SerializeToString(),
                    "level_after": None,
                }
            )
    with engine.begin() as connection:
        connection.execute(EnterpriseProjection.__table__.insert(), projections)  # type: ignore[attr-defined]
        connection.execute(EnterpriseEventRow.__table__.insert(), rows)  # type: ignore[attr-defined]


def written(engine: Engine) -> dict[str, set[tuple]]:
    tables = {t.__tablename__: t.__table__ for t in (GradeRow, GradeHistoryRow, OutboxRecord)}  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {
            name: {
                tuple(row)
                for row in connection.execute(select(*[c for c in table.c if c.name not in RECORDED]))
            }
            for name, table in tables.items()
        }


def forget(engine: Engine) -> None:
    with engine.begin() as connection:
        for row_type in (GradeHistoryRow, GradeRow, OutboxRecord):
            connection.execute(delete(row_type.__table__))  # type: ignore[attr-defined]


def test_a_recompute_over_two_processes_writes_what_the_scalar_one_does(database_url: str) -> None:
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    seed(engine)
    first, second = END - timedelta(days=300), END + timedelta(days=200)

    def run(as_of: datetime, **how: object) -> tuple:
        summary = recompute_all(ScoringUnitOfWork(engine), POLICY, as_of, batch_size=20, **how)  # type: ignore[arg-type]
        return summary, written(engine)

    scalar = [run(first, vectorised=False), run(second, vectorised=False)]
    forget(engine)
    pooled = partial(open_unit_of_work, database_url)
    spread = [run(first, workers=2, open_uow=pooled), run(second, workers=2, open_uow=pooled)]
    assert spread == scalar
    summary, rows = spread[1]
    assert summary.enterprises == 90 and summary.changed > 0 and summary.level_changed > 0
    assert len(rows["scoring_grade_history"]) > 90 and len({row[1] for row in rows["scoring_grades"]}) >= 3
    if engine.dialect.name == "sqlite":
        # Three processes wrote the file (this one's engine stayed open with a pooled connection): a
        # connection inherited across fork() shows here as "database disk image is malformed".
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    engine.dispose()


def test_the_worker_processes_are_spawned_so_they_inherit_no_database_connection() -> None:
    assert PROCESSES.get_start_method() == "spawn"
