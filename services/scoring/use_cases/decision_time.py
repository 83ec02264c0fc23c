"""When a regulator's decision about an enterprise happens: a decision that regrades it (a credit repair,
an override review) first holds the enterprise, so two at once run one after the other, and then happens
after everything in its history. The caller's clock was read before the wait: without that, the second
decision could be dated before the first and judge the state as it was before it (a rule the first repair
lifted still in force, an override the first review lifted still holding)."""

from __future__ import annotations

from datetime import datetime

from services.scoring.domain.grading import as_of_after
from services.scoring.domain.history import HistoryEntry
from services.scoring.use_cases.unit_of_work import ScoringUoW


def hold_enterprise(uow: ScoringUoW, uscc: str, now: datetime) -> tuple[datetime, list[HistoryEntry]]:
    """Holds the enterprise in the open `uow` until it ends; returns the decision's moment (`now`, or just
    after the latest event of its history if that is later) and the history, read after the hold."""
    uow.grades.lock(uscc)
    entries = uow.history.entries(uscc)
    if entries:
        now = max(now, as_of_after(entries[-1].occurred_at))
    return now, entries
