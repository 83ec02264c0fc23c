"""`integrity outbox republish` marks a service's events for publishing again, from a point in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from operations.cli import build_parser
from operations.commands.outbox import republish
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
