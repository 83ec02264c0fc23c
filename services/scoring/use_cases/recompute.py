"""Recomputing grades as evidence ages: every enterprise, as of a date, from its event history.

A recompute steps each grade forward from its current level (so hysteresis holds across daily runs)
to `as_of`. A grade already as of `as_of` or later is left alone: recomputing never moves a grade back
in time, and a recompute with no new events and no time passed changes nothing. Enterprises are
committed in batches, so a long run can be interrupted and started again: the batches already committed
are as of `as_of` and are skipped. Each batch is read with three queries and written with one statement
per table (not a few queries per enterprise): at a million enterprises the round trips were the cost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.scoring.domain.grades import GradeChange
from services.scoring.domain.grading import regrade_as_of
from services.scoring.domain.policy import Policy
from services.scoring.use_cases.ingest import record_grades
from services.scoring.use_cases.unit_of_work import ScoringUoW

# Cause ids of recomputes derive from the as-of time, so GradeChanged ids repeat on a rerun.
_RECOMPUTE_IDS = uuid.UUID("0b6f5d3a-52c1-4d8e-8f0e-6a1f3f7c2b90")


@dataclass
class RecomputeSummary:
    enterprises: int = 0
    changed: int = 0  # grades whose level, score or reasons changed
    level_changed: int = 0  # of those, grades whose level changed (a GradeChanged each)
    already_later: int = 0  # grades already as of a later time, left alone


def recompute_cause_id(as_of: datetime) -> str:
    return str(uuid.uuid5(_RECOMPUTE_IDS, as_of.isoformat()))


def recompute_all(
    uow: ScoringUoW,
    policy: Policy,
    as_of: datetime,
    *,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    batch_size: int = 2000,
) -> RecomputeSummary:
    """Recomputes every projected enterprise, committing every `batch_size` enterprises (a transaction of
    `uow` each); after each batch, `on_progress(enterprises in the batch, total enterprises)` (e.g. to
    advance a progress bar)."""
    with uow:
        usccs = uow.enterprises.usccs()
    summary = RecomputeSummary()
    for start in range(0, len(usccs), batch_size):
        batch = usccs[start : start + batch_size]
        with uow:
            recompute_batch(uow, policy, batch, as_of, summary)
            uow.commit()
        summary.enterprises += len(batch)
        on_progress(len(batch), len(usccs))
    return summary


def recompute_batch(
    uow: ScoringUoW, policy: Policy, usccs: Sequence[str], as_of: datetime, summary: RecomputeSummary
) -> None:
    """Regrades a batch of enterprises as of `as_of` in the open `uow`: three reads for the whole batch
    (projections, grades, histories), grading in memory, and what ingest records for each new grade,
    one write per table for the whole batch."""
    regions = uow.enterprises.region_codes_of(usccs)
    currents = uow.grades.get_many(usccs)
    histories = uow.history.events_of(usccs)
    grades: list[GradeChange] = []
    for uscc in usccs:
        if uscc not in regions:
            continue  # not projected (yet): nothing to grade
        current = currents.get(uscc)
        if current is not None and current.as_of >= as_of:
            summary.already_later += 1  # never move a grade back in time
            continue
        grade = regrade_as_of(policy, histories.get(uscc, []), current, as_of)
        if grade is not None:
            grades.append(GradeChange(uscc, grade, current, regions[uscc]))
    changes = record_grades(uow, grades, recompute_cause_id(as_of))
    summary.changed += len(changes)
    summary.level_changed += sum(change.level_changed for change in changes)
