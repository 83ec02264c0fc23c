"""Ingest of a whole poll batch: the same steps as `ingest`, event by event, on the batch's rows read
up front in a few queries, and written back at the end with one statement per table.

The per-event use case (`ingest.ingest`) runs unchanged for every event of the batch, on a view of the
unit of work (`_BatchView`) whose repositories hold, in memory, the histories (each stored event decoded
once), projections and current grades of the batch's enterprises, and keep what the events change.
Nothing reaches the database until every event went through; then each table gets one executemany. The
tables end up as the per-event path leaves them (a property test compares them).

An event that fails on its own (InvalidEvent, or a fault of the grading) raises BatchEventFailed with its
position: the consumer dead-letters it and ingests the rest again without it.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime

from services.scoring.domain.features import HISTORY_TYPES
from services.scoring.domain.grades import Grade, GradeChange
from services.scoring.domain.grading import FoldedHistory
from services.scoring.domain.history import HistoryEntry, ProjectedEnterprise
from services.scoring.domain.policy import Policy
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.events import BatchEventFailed, Event


def ingest_batch(
    uow: ScoringUoW,
    policy: Policy,
    events: Sequence[Event],
    spans: Sequence[Callable[[], AbstractContextManager[None]]] | None = None,
) -> None:
    """`ingest` of each of `events` in order, in `uow` (open; the caller commits), each inside its span
    of `spans` when given (what it stages keeps that span's trace). BatchEventFailed (position, error)
    when one of them cannot be ingested; nothing is written then."""
    usccs = sorted({event.subject for event in events if event.WhichOneof("payload") in HISTORY_TYPES})
    view = _BatchView(uow, usccs, [event.id for event in events])
    for position, event in enumerate(events):
        try:
            with spans[position]() if spans else nullcontext():
                # The parts of ScoringUoW ingest uses; each enterprise's fold kept from one event to the next.
                ingest(view, policy, event, view.folds)  # type: ignore[arg-type]
        except Exception as exc:
            raise BatchEventFailed(position, exc) from exc
    view.write()


class _BatchView:
    """What `ingest` reads and writes of a ScoringUoW, in memory for the batch's enterprises."""

    def __init__(self, uow: ScoringUoW, usccs: list[str], event_ids: list[str]) -> None:
        self.uow = uow
        self.enterprises = _Enterprises(uow.enterprises.get_many(usccs))
        self.history = _History(uow.history.entries_of(usccs), uow.history.present(event_ids))
        self.grades = _Grades(uow.grades.get_many(usccs))
        self.folds: dict[str, FoldedHistory] = {}  # enterprise -> its history as its last regrade folded it
        self.events: list[tuple[str, Event, str | None]] = []  # (topic, event, trace context)

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        trace = self.uow.trace_context() if events else None
        self.events.extend((topic, event, trace) for event in events)

    def write(self) -> None:
        """Writes what the batch changed, one statement per table (in the order the per-event path
        stages them)."""
        uow = self.uow
        uow.history.add_many(self.history.added())
        uow.history.set_levels_after(self.history.levels_changed())
        uow.enterprises.put_many(self.enterprises.added, self.enterprises.saved())
        uow.grades.save_batch(self.grades.recorded, self.grades.final(), self.grades.stored)
        for topic in dict.fromkeys(topic for topic, _, _ in self.events):
            staged = [(event, trace) for t, event, trace in self.events if t == topic]
            uow.add_events(topic, [event for event, _ in staged], [trace for _, trace in staged])


class _Enterprises:
    def __init__(self, stored: dict[str, ProjectedEnterprise]) -> None:
        self.rows = dict(stored)
        self.stored = set(stored)
        self.added: list[ProjectedEnterprise] = []
        self.changed: set[str] = set()

    def get(self, uscc: str) -> ProjectedEnterprise | None:
        return self.rows.get(uscc)

    def add(self, enterprise: ProjectedEnterprise) -> None:
        self.rows[enterprise.uscc] = enterprise
        self.added.append(enterprise)

    def save(self, enterprise: ProjectedEnterprise) -> None:
        self.rows[enterprise.uscc] = enterprise
        if enterprise.uscc in self.stored:
            self.changed.add(enterprise.uscc)
        else:  # added in this batch: written once, as it ends up
            self.added = [enterprise if e.uscc == enterprise.uscc else e for e in self.added]

    def region_code_of(self, uscc: str) -> str | None:
        found = self.rows.get(uscc)
        return None if found is None else found.region_code

    def saved(self) -> list[ProjectedEnterprise]:
        return [self.rows[uscc] for uscc in sorted(self.changed)]


class _History:
    def __init__(self, stored: dict[str, list[HistoryEntry]], present: set[str]) -> None:
        self.entries_by_uscc = stored
        self.present = present  # event ids in the history (of any enterprise)
        self.new: dict[str, tuple[str, str]] = {}  # event id -> (uscc, kind), in the order added
        self.levels: dict[str, int] = {}  # event id -> level after, for stored events whose level moved
        self.owner = {entry.event_id: uscc for uscc, entries in stored.items() for entry in entries}

    def add(self, event: Event, kind: str, occurred_at: datetime) -> bool:
        if event.id in self.present:
            return False
        self.present.add(event.id)
        self.new[event.id] = (event.subject, kind)
        self.owner[event.id] = event.subject
        insort(
            self.entries_by_uscc.setdefault(event.subject, []),
            HistoryEntry(event.id, occurred_at, event, None),
            key=lambda entry: (entry.occurred_at, entry.event_id),
        )
        return True

    def entries(self, uscc: str) -> list[HistoryEntry]:
        return list(self.entries_by_uscc.get(uscc, ()))

    def set_levels_after(self, levels: dict[str, int]) -> None:
        if not levels:
            return
        for uscc in {self.owner[event_id] for event_id in levels}:
            self.entries_by_uscc[uscc] = [
                entry._replace(level_after=levels[entry.event_id]) if entry.event_id in levels else entry
                for entry in self.entries_by_uscc[uscc]
            ]
        self.levels.update(
            (event_id, level) for event_id, level in levels.items() if event_id not in self.new
        )

    def added(self) -> list[tuple[str, str, HistoryEntry]]:
        """(uscc, kind, entry with its final level) of each event added, in the order added."""
        final = {
            entry.event_id: entry
            for uscc in {uscc for uscc, _ in self.new.values()}
            for entry in self.entries_by_uscc[uscc]
        }
        return [(uscc, kind, final[event_id]) for event_id, (uscc, kind) in self.new.items()]

    def levels_changed(self) -> dict[str, int]:
        return self.levels


class _Grades:
    def __init__(self, stored: dict[str, Grade]) -> None:
        self.current = dict(stored)
        self.stored = set(stored)
        self.recorded: list[tuple[GradeChange, str, datetime]] = []  # (change, cause, recorded at)
        self.updated_at: dict[str, datetime] = {}  # of the grades saved (not only touched)
        self.touched: set[str] = set()

    def get(self, uscc: str) -> Grade | None:
        return self.current.get(uscc)

    def save(self, changes: Sequence[GradeChange], cause_event_id: str, recorded_at: datetime) -> None:
        for change in changes:
            self.current[change.uscc] = change.grade
            self.updated_at[change.uscc] = recorded_at
            self.recorded.append((change, cause_event_id, recorded_at))

    def touch(self, as_of_by_uscc: dict[str, datetime]) -> None:
        for uscc, as_of in as_of_by_uscc.items():
            if uscc in self.current:
                self.current[uscc] = replace(self.current[uscc], as_of=as_of)
                self.touched.add(uscc)

    def final(self) -> dict[str, tuple[Grade, datetime | None]]:
        """uscc -> (its grade as the batch leaves it, when it was last saved; None: only its as_of moved)."""
        usccs = sorted(self.touched | set(self.updated_at))
        return {uscc: (self.current[uscc], self.updated_at.get(uscc)) for uscc in usccs}
