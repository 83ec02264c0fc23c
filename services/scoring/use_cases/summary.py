"""A regulator's dashboard in numbers: a region's grades by level and child division, month by month, and
the recent level changes; and one enterprise's grade history. Aggregated here, in SQL, so the console never
pages through a whole risk list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
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
    uow: ScoringUoW, principal: Principal, filter_text: str, months: int, change_days: int, now: datetime
) -> GradeSummary:
    """The summary of the grades the filter selects, within the caller's region (a system caller without
    a region in the filter: the whole country, grouped by province)."""
    months = _bounded("months", months, DEFAULT_MONTHS, MAX_MONTHS)
    change_days = _bounded("change_days", change_days, DEFAULT_CHANGE_DAYS, MAX_CHANGE_DAYS)
    risk_filter = scope_to_principal(parse_filter(filter_text), principal)
    region = risk_filter.region_code
    prefix_length = 2 if region is None else child_prefix_length(region)
    since = now - timedelta(days=change_days)
    with uow:
        counts = uow.grades.level_counts(risk_filter, prefix_length)
        deltas = uow.grades.monthly_level_deltas(risk_filter) if months else []
        changes = uow.grades.level_changes_since(risk_filter, since) if change_days else []
        latest = uow.grades.latest_level_changes(risk_filter, since, LATEST_CHANGES) if change_days else []
    by_region: dict[str, tuple[dict[GradeLevel, int], int]] = {}
    totals: dict[GradeLevel, int] = {}
    provisional = 0
    for prefix, level_number, is_provisional, count in counts:
        level = GradeLevel(level_number)
        levels, region_provisional = by_region.get(_child(region, prefix), ({}, 0))
        levels[level] = levels.get(level, 0) + count
        by_region[_child(region, prefix)] = (levels, region_provisional + (count if is_provisional else 0))
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


def scope_key(principal: Principal, filter_text: str) -> str:
    """What a summary request covers once narrowed to the caller's region: two callers with the same
    key get the same answer (a refusal is raised here, before any cache is read)."""
    return scope_to_principal(parse_filter(filter_text), principal).canonical()


class SummaryCache:
    """Summaries by what they cover, kept `ttl_seconds`: a dashboard reloaded, or opened by the region's
    other regulators, is answered from memory instead of aggregating the region again."""

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 256) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, GradeSummary]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], GradeSummary]) -> GradeSummary:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        fresh = compute()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now, fresh)
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
