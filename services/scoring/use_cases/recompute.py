"""Recomputing grades as evidence ages: every enterprise, as of a date, from its event history.

A recompute steps each grade forward from its current level (so hysteresis holds across daily runs)
to `as_of`. A grade already as of `as_of` or later is left alone: recomputing never moves a grade back
in time, and a recompute with no new events and no time passed changes nothing. Enterprises are
committed in batches, so a long run can be interrupted and started again: the batches already committed
are as of `as_of` and are skipped. Each batch is read with three queries and written with one statement
per table (not a few queries per enterprise): at a million enterprises the round trips were the cost.

Grading a batch is vectorised with numpy (`domain/batch_grading.py`: the same grades as the scalar path,
which `vectorised=False` keeps for comparison) where numpy is installed: the training image and a
developer's environment, not the service image, which grades one enterprise at a time. With `workers` > 1
the batches are spread over a pool of processes, each batch still read, graded and written in one
transaction of its own process.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from services.scoring.domain.grades import Grade, GradeChange, same_assessment
from services.scoring.domain.grading import regrade_as_of
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.ingest import grade_changed_event
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.events import utcnow

if TYPE_CHECKING:
    from services.scoring.domain.batch_grading import BatchGrader, Track

# Cause ids of recomputes derive from the as-of time, so GradeChanged ids repeat on a rerun.
_RECOMPUTE_IDS = uuid.UUID("0b6f5d3a-52c1-4d8e-8f0e-6a1f3f7c2b90")

# Worker processes are spawned, never forked: a forked child would inherit the parent's open database
# connections (an engine's pool), and two processes using one SQLite connection corrupt the file.
# Each worker opens an engine of its own (`open_uow`) once it has started.
PROCESSES = multiprocessing.get_context("spawn")


@dataclass
class RecomputeSummary:
    enterprises: int = 0
    changed: int = 0  # grades whose level, score or reasons changed
    level_changed: int = 0  # of those, grades whose level changed (a GradeChanged each)
    already_later: int = 0  # grades already as of a later time, left alone


def recompute_cause_id(as_of: datetime) -> str:
    return str(uuid.uuid5(_RECOMPUTE_IDS, as_of.isoformat()))


def batch_grader(policy: Policy) -> BatchGrader | None:
    """The vectorised grader of `policy`, None where numpy is not installed (the service image)."""
    try:
        from services.scoring.domain.batch_grading import BatchGrader
    except ImportError:
        return None
    return BatchGrader(policy)


def recompute_all(
    uow: ScoringUoW,
    policy: Policy,
    as_of: datetime,
    *,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    batch_size: int = 2000,
    vectorised: bool = True,
    workers: int = 1,
    open_uow: Callable[[], ScoringUoW] | None = None,
) -> RecomputeSummary:
    """Recomputes every projected enterprise, committing every `batch_size` enterprises (a transaction of
    `uow` each); after each batch, `on_progress(enterprises in the batch, total enterprises)` (e.g. to
    advance a progress bar). Vectorised where numpy is installed (see `batch_grader`), unless `vectorised`
    is False. With `workers` > 1, batches go to that many processes, each opening its own unit of work
    with `open_uow` (a picklable callable: a module-level function or a partial of one)."""
    with uow:
        usccs = uow.enterprises.usccs()
    summary = RecomputeSummary()
    batches = [usccs[start : start + batch_size] for start in range(0, len(usccs), batch_size)]
    if workers > 1 and len(batches) > 1:
        if open_uow is None:
            raise ValueError("recompute over several processes needs open_uow")
        done = _in_processes(open_uow, policy, batches, as_of, vectorised, workers)
    else:
        grader = batch_grader(policy) if vectorised else None
        done = (_recompute_committed(uow, policy, batch, as_of, grader) for batch in batches)
    for batch, counts in zip(batches, done, strict=True):
        for field in fields(RecomputeSummary):
            setattr(summary, field.name, getattr(summary, field.name) + getattr(counts, field.name))
        on_progress(len(batch), len(usccs))
    return summary


def _recompute_committed(
    uow: ScoringUoW, policy: Policy, batch: Sequence[str], as_of: datetime, grader: BatchGrader | None
) -> RecomputeSummary:
    counts = RecomputeSummary(enterprises=len(batch))
    with uow:
        recompute_batch(uow, policy, batch, as_of, counts, grader)
        uow.commit()
    return counts


def _in_processes(
    open_uow: Callable[[], ScoringUoW],
    policy: Policy,
    batches: list[list[str]],
    as_of: datetime,
    vectorised: bool,
    workers: int,
) -> Iterator[RecomputeSummary]:
    """Each batch in one of `workers` processes (spawned: no database connection is inherited), results
    in batch order; at most two batches per process are queued at a time."""
    with ProcessPoolExecutor(workers, PROCESSES, _start_worker, (open_uow, policy, vectorised)) as pool:
        pending = []
        for batch in batches:
            pending.append(pool.submit(_worker_batch, batch, as_of))
            if len(pending) >= 2 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


_WORKER: dict[str, object] = {}


def _start_worker(open_uow: Callable[[], ScoringUoW], policy: Policy, vectorised: bool) -> None:
    _WORKER.update(uow=open_uow(), policy=policy, grader=batch_grader(policy) if vectorised else None)


def _worker_batch(batch: list[str], as_of: datetime) -> RecomputeSummary:
    return _recompute_committed(_WORKER["uow"], _WORKER["policy"], batch, as_of, _WORKER["grader"])  # type: ignore[arg-type]


def recompute_batch(
    uow: ScoringUoW,
    policy: Policy,
    usccs: Sequence[str],
    as_of: datetime,
    summary: RecomputeSummary,
    grader: BatchGrader | None = None,
) -> None:
    """Regrades a batch of enterprises as of `as_of` in the open `uow`: three reads for the whole batch
    (projections, grades, histories), grading in memory (vectorised with a `grader`, else one enterprise
    at a time), and what ingest records for each new grade, one write per table for the whole batch."""
    regions = uow.enterprises.region_codes_of(usccs)
    currents = uow.grades.get_many(usccs)
    histories = uow.history.events_of(usccs)
    graded: list[tuple[str, Grade | None]] = []
    tracks: list[Track] = []
    for uscc in usccs:
        if uscc not in regions:
            continue  # not projected (yet): nothing to grade
        current = currents.get(uscc)
        if current is not None and current.as_of >= as_of:
            summary.already_later += 1  # never move a grade back in time
            continue
        if grader is None:
            graded.append((uscc, regrade_as_of(policy, histories.get(uscc, []), current, as_of)))
        else:
            graded.append((uscc, None))
            tracks.append(grader.track(histories.get(uscc, []), current, as_of))
    if grader is not None:
        graded = [(uscc, grade) for (uscc, _), grade in zip(graded, grader.grade(tracks), strict=True)]
    grades = [
        GradeChange(uscc, grade, currents.get(uscc), regions[uscc])
        for uscc, grade in graded
        if grade is not None
    ]
    changes = _record(uow, grades, recompute_cause_id(as_of))
    summary.changed += len(changes)
    summary.level_changed += sum(change.level_changed for change in changes)


def _record(uow: ScoringUoW, grades: Sequence[GradeChange], cause_event_id: str) -> list[GradeChange]:
    """What `ingest.record_grades` records, written the way a recompute's grades come: a grade that only
    aged (all of them on a day with no news) moves its as_of with one UPDATE per 500 enterprises, not one
    row of parameters each; the others are saved, join the history and announce a new level as there."""
    aged: dict[datetime, list[str]] = {}
    changes = []
    for change in grades:
        if change.previous is not None and same_assessment(change.previous, change.grade):
            aged.setdefault(change.grade.as_of, []).append(change.uscc)
        else:
            changes.append(change)
    for as_of, usccs in aged.items():
        uow.grades.move_as_of(usccs, as_of)
    if changes:
        uow.grades.save(changes, cause_event_id, recorded_at=utcnow())
        uow.add_events(TOPIC, [grade_changed_event(c, cause_event_id) for c in changes if c.level_changed])
    return changes
