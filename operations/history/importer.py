"""Bulk import of historical events into the services that own them.

Each line is decoded and checked as an envelope here; the service that owns its event (the manifests'
`HistoryRules`) checks it by its own rules and stages it in its database as the service itself would: in
its outbox, topic and all, so the running service's relay publishes it, and for the enterprises service in
its registry too. Events are handed over in batches, one transaction per service and batch.

Idempotent: an event id already in the owner's outbox is skipped, so importing a file twice changes
nothing. A refused event is reported with where it came from, and the rest goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from operations import catalogue
from shared.cloudevents import from_json_line
from shared.db import UnitOfWork, make_engine
from shared.events import Event, InvalidEvent, validate
from shared.history_import import ImportOutcome, Outcome, short_type
from shared.manifest import ServiceManifest, load
from shared.migrations import ensure_current
from shared.settings import Settings

DEFAULT_BATCH_SIZE = 2000
# A clock a little ahead of ours is not "the future".
CLOCK_SKEW = timedelta(minutes=10)

# (where, message): where is e.g. "history.jsonl:17".
ProblemReporter = Callable[[str, str], None]


@dataclass
class ImportSummary:
    imported: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((s.name for s in catalogue.publishers()), 0)
    )
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
    owner: ServiceManifest
    position: int  # in the input, so problems are reported in input order


class Rejected(ValueError):
    """An event no service would import; the message says why."""


def ensure_tables(settings: Settings, services: Iterable[ServiceManifest] | None = None) -> None:
    """Each service's database as the service would start on it: a new one gets its schema, one behind
    the code raises SchemaNotCurrent (`integrity db upgrade` first)."""
    for service in catalogue.publishers() if services is None else services:
        engine = make_engine(settings.database_url(service.name))
        try:
            ensure_current(engine, service, create_empty=True)
        finally:
            engine.dispose()


def owner_of(event: Event, now: datetime) -> ServiceManifest:
    """The service that imports `event`; Rejected saying why none does."""
    try:
        validate(event)
    except InvalidEvent as exc:
        raise Rejected(str(exc)) from None
    kind = event.WhichOneof("payload") or ""
    if reason := catalogue.refusals().get(kind):
        raise Rejected(f"{short_type(event)} {reason}")
    owner = catalogue.owners().get(kind)
    if owner is None:
        raise Rejected(f"{event.type!r} has no owning service")
    occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
    if occurred > now + CLOCK_SKEW:
        raise Rejected(f"time {occurred.isoformat()} is in the future (now is {now.isoformat()})")
    return owner


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
        topic_of: Mapping[str, str] | None = None,
    ) -> None:
        """`topic_of` names each service's topic in the outbox rows (tests isolate a run with their own)."""
        self.report = report
        self.services = catalogue.publishers()
        self.topic_of = dict(topic_of or {s.name: s.publishes for s in self.services if s.publishes})
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.now = now
        self.summary = ImportSummary()
        ensure_tables(settings)
        self.engines: dict[str, Engine] = {
            service.name: make_engine(settings.database_url(service.name)) for service in self.services
        }
        # A dry run keeps one transaction per service open to the end and rolls it back, so later lines
        # see what earlier ones would have written.
        self._dry_units: dict[str, UnitOfWork] = {}
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
            owner = owner_of(event, now)
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
        for service in self.services:
            items = [item for item in batch if item.owner is service]
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

    def _write(self, service: ServiceManifest, items: list[_Item]) -> None:
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
                    outcomes.append((item, _database_refused(service, exc)))
        self._count(service, outcomes)

    def _write_committed(
        self, service: ServiceManifest, items: list[_Item]
    ) -> list[tuple[_Item, ImportOutcome]]:
        with self._unit(service) as unit:
            outcomes = self._stage(service, unit, items)
            unit.commit()
        return outcomes

    def _write_dry(self, service: ServiceManifest, items: list[_Item]) -> None:
        unit = self._dry_units.get(service.name)
        if unit is None:
            unit = self._dry_units[service.name] = self._unit(service).__enter__()
        try:
            outcomes = self._stage(service, unit, items)
            unit.flush()
        except SQLAlchemyError as exc:
            unit.rollback()
            outcomes = [(item, _database_refused(service, exc)) for item in items]
        self._count(service, outcomes)

    def _unit(self, service: ServiceManifest) -> UnitOfWork:
        unit_of_work: type[UnitOfWork] = load(service.unit_of_work)
        return unit_of_work(self.engines[service.name])

    def _stage(
        self, service: ServiceManifest, unit: UnitOfWork, items: list[_Item]
    ) -> list[tuple[_Item, ImportOutcome]]:
        """Hands the batch to the owner's import use case; each item with its outcome."""
        assert service.history.stage is not None  # an owner of imported events names its use case
        stage = load(service.history.stage)
        outcomes = stage(unit, [item.event for item in items], self.topic_of[service.name])
        return list(zip(items, outcomes, strict=True))

    def _count(self, service: ServiceManifest, outcomes: list[tuple[_Item, ImportOutcome]]) -> None:
        for item, outcome in outcomes:
            if outcome.outcome is Outcome.IMPORTED:
                self.summary.imported[service.name] += 1
            elif outcome.outcome is Outcome.PRESENT:
                self.summary.already_present += 1
            else:
                self._reject(item.position, item.where, outcome.message)

    def _reject(self, position: int, where: str, message: str) -> None:
        self.summary.rejected += 1
        self._problems.append((position, where, message))


def _database_refused(service: ServiceManifest, exc: SQLAlchemyError) -> ImportOutcome:
    problem = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    return ImportOutcome.refused(f"the {service.name} database refused it: {problem}")


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
