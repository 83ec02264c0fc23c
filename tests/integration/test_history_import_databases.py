"""The history import on every supported database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set):
a demo province lands whole in the owning services' stores, and a second import changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from operations.demo.province import generate_province
from operations.history.importer import import_lines
from services.enterprises.adapters.tables import EnterpriseRow
from shared.cloudevents import to_json_line
from shared.db import make_engine
from shared.outbox import OutboxRecord
from shared.settings import Settings


def _count(url: str, table: object) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_a_demo_province_imports_whole_and_a_repeat_changes_nothing(
    service_database_urls: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(
        var_dir=tmp_path / "var", **{f"{s}_database_url": url for s, url in service_database_urls.items()}
    )
    province = list(generate_province(30, seed=9))
    events = sorted((e for h in province for e in h.events), key=lambda e: (e.occurred_at.ToDatetime(), e.id))
    lines = [(f"p.jsonl:{n}", to_json_line(e)) for n, e in enumerate(events, start=1)]
    problems: list[str] = []

    def report(where: str, message: str) -> None:
        problems.append(f"{where}: {message}")

    first = import_lines(settings, lines, report=report)
    assert problems == []
    assert first.total_imported == len(events) and first.rejected == 0
    owners = ("enterprises", "complaints", "inspections")
    outboxes = {s: _count(service_database_urls[s], OutboxRecord) for s in owners}
    assert sum(outboxes.values()) == len(events)
    assert _count(service_database_urls["enterprises"], EnterpriseRow) == len(province)

    again = import_lines(settings, lines, report=report)
    assert problems == []
    assert again.total_imported == 0 and again.already_present == len(events)
    assert {s: _count(service_database_urls[s], OutboxRecord) for s in outboxes} == outboxes
