"""Bulk import of historical events into the services that own them.

Each event is decoded, validated by the rules of the service that owns it (`operations.history.validation`),
and written to that service's database as the service itself would write it: into its outbox, topic
and all, so the running service's relay publishes it, and for the enterprises service into its registry
too (`operations.history.store`). Events are written in batches, one transaction per service and batch.

Idempotent: an event id already in the owner's outbox is skipped, so importing a file twice changes
nothing. A refused event is reported with where it came from, and the rest goes on.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from operations.history.cloudevents import from_json_line
from operations.history.store import EnterpriseStore
from operations.history.validation import IMPORTING_SERVICES, TOPICS, Rejected, check
from services.enterprises.unit_of_work import EnterprisesUnitOfWork
from shared.db import UnitOfWork, create_tables, make_engine
from shared.errors import IntegrityError
from shared.events import Event
from shared.outbox import OutboxRecord, add_events
from shared.settings import ServiceName, Settings

DEFAULT_BATCH_SIZE = 2000
_ID_QUERY_CHUNK = 500  # bound parameters per IN (...) query
_IMPORTED, _PRESENT = "imported", "present"

# (where, message): where is e.g. "history.jsonl:17".
ProblemReporter = Callable[[str, str], None]


@dataclass
class ImportSummary:
    imported: dict[ServiceName, int] = field(default_factory=lambda: dict.fromkeys(IMPORTING_SERVICES, 0))
    already_present: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def total_imported(self) -> int:
        return sum(self.imported.values())

    @property
    def lines(self) -> int:
        return self.total_imported + self.already_present + self.rejected

    def describe(self, dry_run: bool = False) -> str:
        verb = "would import" if dry_run else "imported"
        per_service = ", ".join(f"{service} {count:,}" for service, count in self.imported.items())
        rate = self.lines / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{verb} {self.total_imported:,} events ({per_service}); "
            f"{self.already_present:,} already present; {self.rejected:,} rejected; "
            f"{self.lines:,} lines in {self.seconds:.1f} s ({rate:,.0f} lines/s)"
        )


@dataclass(frozen=True)
class _Item:
    where: str
    event: Event
    owner: ServiceName
    position: int  # in the input, so problems are reported in input order


def ensure_tables(settings: Settings, services: Iterable[ServiceName] = IMPORTING_SERVICES) -> None:
    """Creates each service's tables, the same list the service creates when it starts."""
    for service in services:
        engine = make_engine(settings.database_url(service))
        try:
            create_tables(engine, importlib.import_module(f"services.{service}.app").DATABASE_TABLES)
        finally:
            engine.dispose()


class HistoryImporter:
    """Imports events given one at a time, in batches. Use as a context manager, then read `summary`."""

    def __init__(
        self,
        settings: Settings,
        *,
        report: ProblemReporter,
        dry_run: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        topic_of: Mapping[ServiceName, str] = TOPICS,
    ) -> None:
        """`topic_of` names each service's topic in the outbox rows (tests isolate a run with their own)."""
        self.report = report
        self.topic_of = topic_of
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.now = now
        self.summary = ImportSummary()
        ensure_tables(settings)
        self.engines: dict[ServiceName, Engine] = {
            service: make_engine(settings.database_url(service)) for service in IMPORTING_SERVICES
        }
        # A dry run keeps one transaction per service open to the end and rolls it back, so later lines
        # see what earlier ones would have written.
        self._dry_units: dict[ServiceName, UnitOfWork] = {}
        self._batch: list[_Item] = []
        self._position = 0
        # Problems of the current batch, reported in input order when it is written.
        self._problems: list[tuple[int, str, str]] = []
        self._started = time.monotonic()

    def __enter__(self) -> HistoryImporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_line(self, where: str, line: str) -> None:
        """One JSON line of the import format; blank lines are skipped."""
        if not line.strip():
            return
        self._position += 1
        try:
            event = from_json_line(line)
        except ValueError as exc:
            self._reject(self._position, where, str(exc))
            return
        self._add(where, event)

    def add_event(self, where: str, event: Event) -> None:
        self._position += 1
        self._add(where, event)

    def _add(self, where: str, event: Event) -> None:
        now = self.now()
        try:
            owner = check(event, now)
        except Rejected as exc:
            self._reject(self._position, where, str(exc))
            return
        if not event.HasField("recorded_at"):
            event.recorded_at.FromDatetime(now)  # recorded by this system, now
        self._batch.append(_Item(where, event, owner, self._position))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        for service in IMPORTING_SERVICES:
            items = [item for item in batch if item.owner == service]
            if items:
                self._write(service, items)
        problems, self._problems = sorted(self._problems), []
        for _position, where, message in problems:
            self.report(where, message)
        self.summary.seconds = time.monotonic() - self._started

    def close(self) -> None:
        """Writes what is left; a dry run rolls everything back."""
        try:
            self.flush()
        finally:
            for unit in self._dry_units.values():
                unit.__exit__(None, None, None)
            for engine in self.engines.values():
                engine.dispose()

    # --- writing --------------------------------------------------------------------------------------

    def _write(self, service: ServiceName, items: list[_Item]) -> None:
        if self.dry_run:
            self._write_dry(service, items)
            return
        try:
            outcomes = self._write_committed(service, items)
        except SQLAlchemyError:
            # One line the checks let through was still refused by the database: find it, keep the rest.
            outcomes = []
            for item in items:
                try:
                    outcomes += self._write_committed(service, [item])
                except SQLAlchemyError as exc:
                    outcomes.append((item, f"the {service} database refused it: {_database_problem(exc)}"))
        self._count(service, outcomes)

    def _write_committed(self, service: ServiceName, items: list[_Item]) -> list[tuple[_Item, str]]:
        with self._unit(service) as unit:
            outcomes = self._stage(service, unit, items)
            unit.commit()
        return outcomes

    def _write_dry(self, service: ServiceName, items: list[_Item]) -> None:
        unit = self._dry_units.get(service)
        if unit is None:
            unit = self._dry_units[service] = self._unit(service).__enter__()
        try:
            outcomes = self._stage(service, unit, items)
            unit.session.flush()
        except SQLAlchemyError as exc:
            unit.rollback()
            outcomes = [
                (item, f"the {service} database refused it: {_database_problem(exc)}") for item in items
            ]
        self._count(service, outcomes)

    def _unit(self, service: ServiceName) -> UnitOfWork:
        engine = self.engines[service]
        return EnterprisesUnitOfWork(engine) if service == "enterprises" else UnitOfWork(engine)

    def _stage(self, service: ServiceName, unit: UnitOfWork, items: list[_Item]) -> list[tuple[_Item, str]]:
        """Stages the batch in `unit`; each item's outcome: imported, present, or why it was refused."""
        seen = set(_present_ids(unit, [item.event.id for item in items]))
        store = EnterpriseStore(unit) if isinstance(unit, EnterprisesUnitOfWork) else None
        outcomes: list[tuple[_Item, str]] = []
        accepted: list[Event] = []
        for item in items:
            if item.event.id in seen:
                outcomes.append((item, _PRESENT))
                continue
            if store is not None:
                try:
                    store.apply(item.event)
                except IntegrityError as err:
                    outcomes.append((item, f"{item.event.type.rsplit('.', 1)[-1]}: {err.message}"))
                    continue
            seen.add(item.event.id)
            accepted.append(item.event)
            outcomes.append((item, _IMPORTED))
        add_events(unit.session, self.topic_of[service], accepted)
        return outcomes

    def _count(self, service: ServiceName, outcomes: list[tuple[_Item, str]]) -> None:
        for item, outcome in outcomes:
            if outcome == _IMPORTED:
                self.summary.imported[service] += 1
            elif outcome == _PRESENT:
                self.summary.already_present += 1
            else:
                self._reject(item.position, item.where, outcome)

    def _reject(self, position: int, where: str, message: str) -> None:
        self.summary.rejected += 1
        self._problems.append((position, where, message))


def _present_ids(unit: UnitOfWork, ids: list[str]) -> Iterator[str]:
    """Those of `ids` already in the outbox (imported before, or produced by the service itself)."""
    for start in range(0, len(ids), _ID_QUERY_CHUNK):
        chunk = ids[start : start + _ID_QUERY_CHUNK]
        statement = select(OutboxRecord.event_id).where(col(OutboxRecord.event_id).in_(chunk))
        yield from unit.session.execute(statement).scalars()


def _database_problem(exc: SQLAlchemyError) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]


def import_lines(
    settings: Settings, lines: Iterable[tuple[str, str]], *, report: ProblemReporter, **options: Any
) -> ImportSummary:
    """Imports (where, JSON line) pairs; returns the counts. `options` are HistoryImporter's."""
    with HistoryImporter(settings, report=report, **options) as importer:
        for where, line in lines:
            importer.add_line(where, line)
    return importer.summary


def import_events(
    settings: Settings, events: Iterable[tuple[str, Event]], *, report: ProblemReporter, **options: Any
) -> ImportSummary:
    """Imports (where, event) pairs without a file in between (the demo province); returns the counts."""
    with HistoryImporter(settings, report=report, **options) as importer:
        for where, event in events:
            importer.add_event(where, event)
    return importer.summary
