"""`integrity outbox republish` marks a service's events for publishing again, from a point in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from operations.cli import build_parser
from operations.commands.outbox import list_parked, republish
from shared.db import create_tables, make_engine
from shared.outbox import OutboxRecord, add_event
from shared.settings import Settings
from tests.helpers import enterprise_registered, valid_uscc


def test_republish_marks_only_rows_recorded_since(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    engine = make_engine(settings.database_url("enterprises"))
    create_tables(engine, [OutboxRecord])
    now = datetime.now(UTC)
    with Session(engine) as session:
        old = add_event(session, "t", enterprise_registered(valid_uscc(1)))
        new = add_event(session, "t", enterprise_registered(valid_uscc(2)))
        old.recorded_at = now - timedelta(days=10)
        for row in (old, new):
            row.published_at = now
        session.commit()

    assert republish(settings, "enterprises", now - timedelta(days=1)) == 1

    with Session(engine) as session:
        published = {r.key: r.published_at is not None for r in session.exec(select(OutboxRecord))}
    assert published == {valid_uscc(1): True, valid_uscc(2): False}


def test_cli_refuses_a_date_it_cannot_read(capsys) -> None:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["outbox", "republish", "--service", "scoring", "--since", "last week"])
    assert args.handler(args) == 2
    assert "not an ISO 8601" in capsys.readouterr().err


def _park(settings: Settings, count: int) -> list[int]:
    """`count` enterprises outbox rows, the first parked with the broker's error, the rest published."""
    engine = make_engine(settings.database_url("enterprises"))
    create_tables(engine, [OutboxRecord])
    now = datetime.now(UTC)
    with Session(engine) as session:
        rows = [add_event(session, "t", enterprise_registered(valid_uscc(10 + n))) for n in range(count)]
        rows[0].parked_at, rows[0].last_error = now, "MessageSizeTooLargeError: [Error 10] the broker says no"
        for row in rows[1:]:
            row.published_at = now
        session.commit()
        ids = [row.id for row in rows]
    engine.dispose()
    return ids  # type: ignore[return-value]


def test_parked_lists_the_refused_events_with_the_error_and_unpark_puts_one_back(
    tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=tmp_path)
    monkeypatch.setattr("operations.commands.outbox.get_settings", lambda: settings)
    parked_id, published_id = _park(settings, 2)

    args = build_parser().parse_args(["outbox", "parked", "--service", "enterprises"])
    assert args.handler(args) == 1  # something waits for an operator
    listed = capsys.readouterr().out
    assert f"enterprises\t{parked_id}\tEnterpriseRegistered\t{valid_uscc(10)}" in listed
    assert "the broker says no" in listed and str(published_id) not in listed.split("\t")[1]

    args = build_parser().parse_args(["outbox", "unpark", "--service", "enterprises", str(published_id)])
    assert args.handler(args) == 1  # not parked: nothing to do
    args = build_parser().parse_args(["outbox", "unpark", "--service", "enterprises", str(parked_id)])
    assert args.handler(args) == 0
    assert list_parked(settings, "enterprises") == []
    engine = make_engine(settings.database_url("enterprises"))
    with Session(engine) as session:
        row = session.get(OutboxRecord, parked_id)
        assert row is not None and row.published_at is None and row.parked_at is None  # the relay's again
    engine.dispose()
    args = build_parser().parse_args(["outbox", "parked"])
    assert args.handler(args) == 0
    assert "no parked events" in capsys.readouterr().out


def test_unpark_needs_ids_or_all(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["outbox", "unpark", "--service", "enterprises"])
    assert exited.value.code == 2
    assert "ID --all is required" in capsys.readouterr().err
