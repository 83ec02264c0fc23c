"""Recomputing grades as evidence ages: every enterprise, as of a date, from its event history.

A recompute steps each grade forward from its current level (so hysteresis holds across daily runs)
to `as_of`. A grade already as of `as_of` or later is left alone: recomputing never moves a grade back
in time, and a recompute with no new events and no time passed changes nothing. Enterprises are
committed in batches, so a long run can be interrupted and started again: the batches already committed
are as of `as_of` and are skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from services.scoring.grading import grade_as_of, replay
from services.scoring.handlers import record_grade, same_assessment
from services.scoring.policy import Policy
from services.scoring.repository import ScoringRepository
from shared.db import UnitOfWork

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


def recompute_enterprise(session: Session, policy: Policy, uscc: str, as_of: datetime) -> str:
    """Regrades one enterprise as of `as_of`; returns "unchanged", "changed", "level" or "later"."""
    repository = ScoringRepository(session)
    enterprise = repository.get_enterprise(uscc)
    if enterprise is None:
        return "unchanged"
    current = repository.get_grade(uscc)
    if current is not None and current.as_of >= as_of:
        return "later"
    history = repository.history(uscc)
    if current is None:
        grade, _ = replay(policy, history, until=as_of)
    else:
        grade = grade_as_of(policy, history, as_of, current.level)
    if grade is None:
        return "unchanged"
    outcome = "unchanged"
    if current is None or current.level != grade.level:
        outcome = "level"
    elif not same_assessment(current, grade):
        outcome = "changed"
    record_grade(session, uscc, grade, current, recompute_cause_id(as_of), enterprise.region_code)
    return outcome


def recompute_all(
    engine: Engine,
    policy: Policy,
    as_of: datetime,
    *,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    batch_size: int = 500,
) -> RecomputeSummary:
    """Recomputes every projected enterprise, committing every `batch_size` enterprises; after each
    batch, `on_progress(enterprises in the batch, total enterprises)` (e.g. to advance a progress bar)."""
    with UnitOfWork(engine) as uow:
        usccs = ScoringRepository(uow.session).enterprise_usccs()
    summary = RecomputeSummary()
    for start in range(0, len(usccs), batch_size):
        batch = usccs[start : start + batch_size]
        with UnitOfWork(engine) as uow:
            for uscc in batch:
                outcome = recompute_enterprise(uow.session, policy, uscc, as_of)
                summary.changed += outcome in ("changed", "level")
                summary.level_changed += outcome == "level"
                summary.already_later += outcome == "later"
            uow.commit()
        summary.enterprises += len(batch)
        on_progress(len(batch), len(usccs))
    return summary
