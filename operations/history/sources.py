"""Where `integrity model` reads enterprise histories from: a history file (`--from`), the scoring
database, or - when scoring has not ingested anything yet, e.g. straight after `integrity import` with the
stack not running - the records of the services that own the events (what `integrity export` writes).

A history is one enterprise's events; only enterprises with a registration are graded, so only theirs are
learned from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select

from shared.db import make_engine, missing_sqlite_file
from shared.events import Event
from shared.settings import Settings


class NoHistory(ValueError):
    """There is nothing to learn from; the message says what to run first."""


@dataclass(frozen=True)
class HistorySource:
    description: str  # where the histories come from, for the operator
    histories: Callable[[], Iterable[list[Event]]]  # may be called more than once


def history_source(settings: Settings, path: Path | None = None) -> HistorySource:
    from learning.dataset import histories_from_database, histories_from_jsonl

    if path is not None:
        histories = histories_from_jsonl(path)
        return HistorySource(f"the history file {path} ({len(histories)} enterprises)", lambda: histories)
    url = settings.database_url("scoring")
    enterprises = _scored_enterprises(url)
    if enterprises:
        return HistorySource(
            f"the scoring database ({enterprises} enterprises)", lambda: histories_from_database(url)
        )
    from operations.history.exporter import source_events

    owned = registered_histories(source_events(settings))
    if not owned:
        raise NoHistory(
            "no history to learn from: import one first (`integrity import FILE`, or `integrity demo seed`), "
            "or train from a history file with --from FILE"
        )
    return HistorySource(
        f"the enterprises, complaints and inspections services' records ({len(owned)} enterprises; scoring "
        "has not graded them yet, start the stack with `make run` for that)",
        lambda: owned,
    )


def registered_histories(events: Iterator[Event]) -> list[list[Event]]:
    """Events grouped by enterprise, for the enterprises that have a registration."""
    by_subject: dict[str, list[Event]] = {}
    registered: set[str] = set()
    for event in events:
        by_subject.setdefault(event.subject, []).append(event)
        if event.WhichOneof("payload") == "enterprise_registered":
            registered.add(event.subject)
    return [history for subject, history in by_subject.items() if subject in registered]


def _scored_enterprises(url: str) -> int:
    """Enterprises in the scoring database's projection; 0 when it has none or does not exist (a missing
    SQLite file is not created)."""
    if missing_sqlite_file(url):
        return 0
    from services.scoring.adapters.tables import EnterpriseProjection

    engine = make_engine(url)
    try:
        if not inspect(engine).has_table(EnterpriseProjection.__tablename__):
            return 0
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(EnterpriseProjection)).scalar() or 0
            )  # type: ignore[arg-type]
    finally:
        engine.dispose()
