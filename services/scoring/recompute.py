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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from services.scoring.domain.grades import Grade
from services.scoring.domain.grading import grade_as_of, replay
from services.scoring.domain.policy import Policy
from services.scoring.handlers import grade_changed_event, same_assessment
from services.scoring.manifest import TOPIC
from services.scoring.repository import GradeChange, ScoringRepository
from shared.db import UnitOfWork
from shared.events import Event, utcnow
from shared.outbox import add_events

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
    engine: Engine,
    policy: Policy,
    as_of: datetime,
    *,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    batch_size: int = 2000,
) -> RecomputeSummary:
    """Recomputes every projected enterprise, committing every `batch_size` enterprises; after each
    batch, `on_progress(enterprises in the batch, total enterprises)` (e.g. to advance a progress bar)."""
    with UnitOfWork(engine) as uow:
        usccs = ScoringRepository(uow.session).enterprise_usccs()
    summary = RecomputeSummary()
    for start in range(0, len(usccs), batch_size):
        batch = usccs[start : start + batch_size]
        with UnitOfWork(engine) as uow:
            recompute_batch(uow.session, policy, batch, as_of, summary)
            uow.commit()
        summary.enterprises += len(batch)
        on_progress(len(batch), len(usccs))
    return summary


def recompute_batch(
    session: Session, policy: Policy, usccs: list[str], as_of: datetime, summary: RecomputeSummary
) -> None:
    """Regrades a batch of enterprises as of `as_of`: three reads for the whole batch (projections,
    grades, histories), grading in memory, and one write per table for the grades that changed. Per
    enterprise it writes what `record_grade` would."""
    repository = ScoringRepository(session)
    regions = repository.region_codes_of(usccs)
    currents = repository.grades_of(usccs)
    histories = repository.histories_of(usccs)
    changes: list[GradeChange] = []
    touched: dict[str, datetime] = {}
    for uscc in usccs:
        if uscc not in regions:
            continue  # not projected (yet): nothing to grade
        current = currents.get(uscc)
        if current is not None and current.as_of >= as_of:
            summary.already_later += 1  # never move a grade back in time
            continue
        grade = regrade(policy, histories.get(uscc, []), current, as_of)
        if grade is None:
            continue
        if current is not None and same_assessment(current, grade):
            touched[uscc] = grade.as_of  # only time passed: move as_of, no history entry
            continue
        changes.append(GradeChange(uscc, grade, current))
        summary.changed += 1
        summary.level_changed += current is None or current.level != grade.level
    cause = recompute_cause_id(as_of)
    repository.touch_grades(touched)
    repository.save_grades(changes, cause, recorded_at=utcnow())
    # A GradeChanged for each new level, staged in the same transaction (outbox).
    announcements = [
        grade_changed_event(uscc, grade, previous, cause, regions[uscc])
        for uscc, grade, previous in changes
        if previous is None or previous.level != grade.level
    ]
    add_events(session, TOPIC, announcements)


def regrade(policy: Policy, history: list[Event], current: Grade | None, as_of: datetime) -> Grade | None:
    """The grade as of `as_of`: stepped forward from the current level (so hysteresis holds across daily
    runs), or the whole history replayed for an enterprise never graded."""
    if current is None:
        grade, _ = replay(policy, history, until=as_of)
        return grade
    return grade_as_of(policy, history, as_of, current.level)
