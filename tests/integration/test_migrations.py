"""Schema migrations on SQLite and PostgreSQL: every service's history builds exactly its models' schema
and unwinds again; a service refuses a database that is behind, in one line naming `integrity db upgrade`,
which brings it up to date (adopting tables created before migrations existed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from operations import catalogue
from operations.cli import main
from shared.db import create_tables, make_engine
from shared.manifest import ServiceManifest, load
from shared.migrations import (
    VERSION_TABLE,
    SchemaNotCurrent,
    config,
    differences,
    ensure_current,
    script,
    status,
    upgrade,
)
from shared.settings import Settings, get_settings
from shared.wiring import service_database

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {VERSION_TABLE}


@pytest.mark.parametrize("service", catalogue.SERVICES, ids=lambda s: s.name)
def test_every_migration_applied_to_an_empty_database_builds_the_models(
    engine: Engine, service: ServiceManifest
) -> None:
    history = script(service)
    revisions = [r.revision for r in history.walk_revisions()]
    assert revisions[-1] == history.get_base() and len(revisions) >= 2

    state = upgrade(engine, service)
    assert state.up_to_date and state.current == history.get_current_head()
    assert differences(engine, service) == []

    # Every step down and up again: downgrades work, and the schema is the models' once more.
    with engine.begin() as connection:
        command.downgrade(config(service, connection=connection), "base")
    assert _tables(engine) == set()
    upgrade(engine, service)
    assert differences(engine, service) == []


def test_a_service_refuses_a_database_behind_it_until_upgraded(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = catalogue.ENTERPRISES
    upgrade(engine, service, script(service).get_base())
    assert differences(engine, service) != []  # the comparison sees what the later revisions add
    settings = Settings(enterprises_database_url=database_url)

    with pytest.raises(SchemaNotCurrent) as refused:
        service_database(settings, service)
    message = str(refused.value)
    assert "\n" not in message and "behind" in message and "integrity db upgrade" in message
    assert "integrity-ci" not in message  # the URL is printed without its password

    monkeypatch.setenv("ENTERPRISES_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["db", "status", "--service", "enterprises"]) == 1
        assert main(["db", "upgrade", "--service", "enterprises"]) == 0
        assert main(["db", "status", "--service", "enterprises"]) == 0
    finally:
        get_settings.cache_clear()
    assert "(current)" in capsys.readouterr().out
    service_database(settings, service).dispose()
    assert differences(engine, service) == []


def test_tables_created_before_migrations_are_adopted_by_upgrade(engine: Engine) -> None:
    """A database made by create_all before this change (the baseline's tables, no version table)."""
    service = catalogue.SCORING
    upgrade(engine, service, script(service).get_base())
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    before = status(engine, service)
    assert before.current is None and before.has_tables and not before.empty
    with pytest.raises(SchemaNotCurrent, match="integrity db upgrade"):
        ensure_current(engine, service, create_empty=True)

    assert upgrade(engine, service).up_to_date
    assert differences(engine, service) == []


def test_an_empty_database_is_created_at_start_unless_production_says_not(engine: Engine) -> None:
    service = catalogue.COMPLAINTS
    with pytest.raises(SchemaNotCurrent, match="empty; `integrity db upgrade` creates the schema"):
        ensure_current(engine, service, create_empty=False)
    assert _tables(engine) == set()
    ensure_current(engine, service, create_empty=True)
    assert status(engine, service).up_to_date and differences(engine, service) == []


@pytest.mark.parametrize("service", catalogue.SERVICES, ids=lambda s: s.name)
def test_tables_the_code_before_migrations_created_last_are_adopted_too(
    engine: Engine, service: ServiceManifest
) -> None:
    """What main's create_all made just before migrations existed: every table of today's models but the
    outbox's trace context (this branch's 0002). The upgrade adds that column and skips what a later
    revision adds and the database already holds (the complaints registry copy, scoring's guards)."""
    create_tables(engine, load(service.tables))
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE outbox DROP COLUMN trace_context"))
    assert status(engine, service).current is None

    assert upgrade(engine, service).up_to_date
    assert differences(engine, service) == []


def test_guards_added_to_a_database_that_breaks_them_stop_the_upgrade_naming_the_rows(engine: Engine) -> None:
    """Scoring's 0003 adds the unique indexes that settle concurrent appeals; a database written before
    them may hold two PENDING appeals of one enterprise. The upgrade refuses, says which, changes nothing."""
    service = catalogue.SCORING
    upgrade(engine, service, "0002")
    appeal = (
        "INSERT INTO scoring_appeals (id, uscc, reason, state, appealed_level, filed_by, request_id, "
        "created_at, decided_by, decision_reason, override_event_id) VALUES (:id, '91610112MA6TGXKQ3B', 'r', "
        "'PENDING', 1, 'enterprise', '', CURRENT_TIMESTAMP, '', '', '')"
    )
    with engine.begin() as connection:
        for id_ in ("appeal-1", "appeal-2"):
            connection.execute(text(appeal), {"id": id_})

    with pytest.raises(SchemaNotCurrent) as refused:
        upgrade(engine, service)
    message = str(refused.value)
    assert "\n" not in message and "91610112MA6TGXKQ3B" in message and "ux_scoring_appeals_pending" in message
    assert status(engine, service).current == "0002"
    assert "ux_scoring_appeals_pending" not in {
        i["name"] for i in inspect(engine).get_indexes("scoring_appeals")
    }

    with engine.begin() as connection:  # the operator decides one of them with the previous version
        connection.execute(text("UPDATE scoring_appeals SET state = 'REJECTED' WHERE id = 'appeal-2'"))
    assert upgrade(engine, service).up_to_date
    assert differences(engine, service) == []
