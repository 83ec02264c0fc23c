"""A regulator's dashboard in numbers: a region's grades by level and child division, month by month, and
the recent level changes; and one enterprise's grade history. Aggregated here, in SQL, so the console never
pages through a whole risk list.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.summary import (
    DEFAULT_CHANGE_DAYS,
    DEFAULT_MONTHS,
    LATEST_CHANGES,
    MAX_CHANGE_DAYS,
    MAX_MONTHS,
    GradeSummary,
    LevelCounts,
    SummarySnapshot,
    child_code,
    child_prefix_length,
    month_keys,
    monthly_distribution,
)
from services.scoring.use_cases.access import region_of
from services.scoring.use_cases.grades import scope_to_principal
from services.scoring.use_cases.queries import parse_filter
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared import pagination
from shared.auth import Principal, Role, require_enterprise_read
from shared.errors import FieldViolation, invalid_argument
from shared.regions import region_prefix

CHINA_OFFSET = timedelta(hours=8)


def summarize(
    uow: ScoringUoW,
    principal: Principal,
    filter_text: str,
    months: int,
    change_days: int,
    now: datetime,
    snapshot: SummarySnapshot | None = None,
) -> GradeSummary:
    """The summary of the grades the filter selects, within the caller's region (a system caller without
    a region in the filter: the whole country, grouped by province).

    With a `snapshot`, the counts by level, month and recent day come from it (a filter on industry, or
    a window longer than the snapshot's days, reads the tables instead); the latest changes are read from
    the grade history, newest first on its as_of index."""
    months = _bounded("months", months, DEFAULT_MONTHS, MAX_MONTHS)
    change_days = _bounded("change_days", change_days, DEFAULT_CHANGE_DAYS, MAX_CHANGE_DAYS)
    risk_filter = scope_to_principal(parse_filter(filter_text), principal)
    region = risk_filter.region_code
    prefix_length = 2 if region is None else child_prefix_length(region)
    since = now - timedelta(days=change_days)
    snap = snapshot if risk_filter.industry_code is None else None  # it counts no industries
    prefix, subject_type = ("" if region is None else region_prefix(region)), risk_filter.subject_type
    with uow:
        if snap is not None:
            counts = snap.level_counts(prefix, subject_type, prefix_length)
            deltas = snap.monthly_deltas(prefix, subject_type) if months else []
        else:
            counts = uow.grades.level_counts(risk_filter, prefix_length)
            deltas = uow.grades.monthly_level_deltas(risk_filter) if months else []
        if not change_days:
            changes: list[tuple[int, int, int]] = []
        elif snap is not None and snap.covers(since):
            changes = snap.changes_since(prefix, subject_type, since)
        else:
            changes = uow.grades.level_changes_since(risk_filter, since)
        latest = uow.grades.latest_level_changes(risk_filter, since, LATEST_CHANGES) if change_days else []
    by_region: dict[str, tuple[dict[GradeLevel, int], int]] = {}
    totals: dict[GradeLevel, int] = {}
    provisional = 0
    for group, level_number, is_provisional, count in counts:
        level = GradeLevel(level_number)
        levels, region_provisional = by_region.get(_child(region, group), ({}, 0))
        levels[level] = levels.get(level, 0) + count
        by_region[_child(region, group)] = (levels, region_provisional + (count if is_provisional else 0))
        totals[level] = totals.get(level, 0) + count
        provisional += count if is_provisional else 0
    return GradeSummary(
        region_code=region or "",
        totals=LevelCounts(totals, provisional),
        regions={code: LevelCounts(levels, p) for code, (levels, p) in sorted(by_region.items())},
        months=monthly_distribution(deltas, month_keys((now + CHINA_OFFSET).date(), months)),
        recent_changes={(GradeLevel(a), GradeLevel(b)): n for a, b, n in changes},
        latest_changes=latest,
        change_window_start=since,
    )


@dataclass(frozen=True)
class HistoryPage:
    entries: list[tuple[Grade, GradeLevel | None, datetime]]  # grade, previous level, recorded at
    next_page_token: str


def grade_history(
    uow: ScoringUoW, principal: Principal, uscc: str, page_size: int, page_token: str
) -> HistoryPage:
    """A page of the enterprise's grades, oldest first; only to whom the enterprise's grade is shown."""
    if principal.role == Role.ENTERPRISE:
        require_enterprise_read(principal, uscc, None)  # before any lookup: existence does not leak
    size = pagination.page_size(page_size)
    query = pagination.fingerprint(uscc)
    after = pagination.decode_page_token(page_token, query) if page_token else None
    if after is not None and not isinstance(after, int):
        raise pagination.invalid_page_token()
    with uow:
        require_enterprise_read(principal, uscc, region_of(uow, uscc))
        rows = uow.grades.history(uscc, size + 1, after)
    next_token = pagination.encode_page_token(rows[size - 1][0], query) if len(rows) > size else ""
    return HistoryPage(
        [
            (grade, None if previous is None else GradeLevel(previous), at)
            for _, grade, previous, at in rows[:size]
        ],
        next_token,
    )


class SummarySnapshots:
    """The latest snapshot of every grade's counts (see SummarySnapshot), refreshed by a worker: a
    dashboard then sums a few thousand rows in memory instead of joining a million grades per request.

    Where taking it is cheap (under `direct_below_seconds`: a small province, a new stack) the summaries
    read the tables instead, so they are exact to the last grade; the snapshot serves when it matters."""

    def __init__(self, direct_below_seconds: float = 1.0) -> None:
        self.direct_below_seconds = direct_below_seconds
        self._current: SummarySnapshot | None = None
        self._cost_seconds = 0.0
        self._lock = threading.Lock()

    @property
    def current(self) -> SummarySnapshot | None:
        """The snapshot to answer from; None when reading the tables is as cheap."""
        with self._lock:
            return self._current if self._cost_seconds >= self.direct_below_seconds else None

    def refresh(self, uow: ScoringUoW, now: datetime) -> SummarySnapshot:
        started = time.monotonic()
        with uow:
            fresh = uow.grades.snapshot(now)
        with self._lock:
            self._current, self._cost_seconds = fresh, time.monotonic() - started
        return fresh


def _child(region: str | None, prefix: str) -> str:
    """The division a group of `prefix` digits stands for (a province's two digits: its code)."""
    if region is not None and len(prefix) <= len(region_prefix(region)):
        return region
    return child_code(region or "", prefix)


def _bounded(field: str, value: int, default: int, maximum: int) -> int:
    if value > maximum:
        raise invalid_argument([FieldViolation(field, f"must be at most {maximum}, got {value}")])
    return default if value == 0 else max(0, value)
