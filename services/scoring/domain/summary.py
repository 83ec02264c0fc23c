"""A region's grades in aggregate, for a regulator's dashboard: counts by level (in the region and in each
of its child divisions), the distribution month by month, and the recent level changes. Pure Python.

The month-by-month distribution is rebuilt from the grade history without reading every enterprise's grade
at every month end: each history row adds one to its level and takes one from its previous level, so the
running sum of the per-month changes is the distribution at the end of each month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.scoring.domain.grades import GradeLevel

DEFAULT_MONTHS = 12
MAX_MONTHS = 60
DEFAULT_CHANGE_DAYS = 30
MAX_CHANGE_DAYS = 366
LATEST_CHANGES = 20
# Days of level changes a snapshot keeps by day: the default window of recent changes, and one more.
SNAPSHOT_DAYS = 31


def child_prefix_length(region_code: str) -> int:
    """How many leading digits name a child division of `region_code`: the cities of a province (4), the
    counties of a city (6); a county has no children and is grouped as itself (6)."""
    return 4 if region_code.endswith("0000") else 6


def child_code(region_code: str, prefix: str) -> str:
    """The division code a group prefix stands for: 6101 -> 610100."""
    return prefix.ljust(6, "0")


@dataclass(frozen=True)
class LevelCounts:
    by_level: Mapping[GradeLevel, int] = field(default_factory=dict)
    provisional: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_level.values())


@dataclass(frozen=True)
class GradeChangeItem:
    uscc: str
    display_name: str
    region_code: str
    from_level: GradeLevel
    to_level: GradeLevel
    changed_at: datetime


@dataclass(frozen=True)
class GradeSummary:
    region_code: str
    totals: LevelCounts
    regions: Mapping[str, LevelCounts]  # child division code -> its counts
    months: list[tuple[str, dict[GradeLevel, int]]]  # ("YYYY-MM", levels at the month's end), oldest first
    recent_changes: Mapping[tuple[GradeLevel, GradeLevel], int]
    latest_changes: list[GradeChangeItem]
    change_window_start: datetime


def month_keys(today: date, months: int) -> list[str]:
    """The last `months` months ending with today's, oldest first, as "YYYY-MM"."""
    year, month = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def monthly_distribution(
    deltas: Iterable[tuple[str, int | None, int, int]], keys: list[str]
) -> list[tuple[str, dict[GradeLevel, int]]]:
    """The levels at the end of each month of `keys` from grouped history rows (month "YYYY-MM", previous
    level number or None, new level number, how many rows): each row adds to its level and takes from its
    previous one. Rows before the first month count towards it; rows after the last are ignored."""
    if not keys:
        return []
    per_month: dict[str, dict[int, int]] = {}
    for month, previous, level, count in deltas:
        if month > keys[-1]:
            continue
        bucket = per_month.setdefault(max(month, keys[0]), {})
        bucket[level] = bucket.get(level, 0) + count
        if previous is not None:
            bucket[previous] = bucket.get(previous, 0) - count
    running = {level: 0 for level in GradeLevel}
    result = []
    for key in keys:
        for number, change in per_month.get(key, {}).items():
            if number in GradeLevel._value2member_map_:
                running[GradeLevel(number)] += change
        result.append((key, {level: max(0, n) for level, n in running.items()}))
    return result


@dataclass(frozen=True)
class SummarySnapshot:
    """Every current grade and every level change, counted per county (full region code) and subject type:
    small enough to keep in memory, and any region's summary (province, city, county) is a sum over it.

    counts: (region code, subject type, level number, provisional) -> how many current grades;
    moves: (region code, subject type, month, previous level number or None, level number) -> how many
    history rows that set a level;
    recent: (region code, subject type, day, previous level number, level number) -> how many level
    changes of the last SNAPSHOT_DAYS days.
    """

    taken_at: datetime
    counts: Mapping[tuple[str, str, int, bool], int]
    moves: Mapping[tuple[str, str, str, int | None, int], int]
    recent: Mapping[tuple[str, str, str, int, int], int] = field(default_factory=dict)

    def covers(self, since: datetime) -> bool:
        """True when its day-by-day changes reach back to `since`."""
        return self.taken_at - since <= timedelta(days=SNAPSHOT_DAYS)

    def changes_since(
        self, prefix: str, subject_type: str | None, since: datetime
    ) -> list[tuple[int, int, int]]:
        """As the repository's level_changes_since, to the day: (previous level, level, n)."""
        first = since.date().isoformat()
        summed: dict[tuple[int, int], int] = {}
        for (region, subject, day, previous, level), n in self.recent.items():
            if day >= first and region.startswith(prefix) and subject_type in (None, subject):
                summed[(previous, level)] = summed.get((previous, level), 0) + n
        return [(*key, n) for key, n in summed.items()]

    def level_counts(
        self, prefix: str, subject_type: str | None, prefix_length: int
    ) -> list[tuple[str, int, bool, int]]:
        """As the repository's level_counts: (region prefix of `prefix_length`, level, provisional, n)."""
        summed: dict[tuple[str, int, bool], int] = {}
        for (region, subject, level, provisional), n in self.counts.items():
            if region.startswith(prefix) and subject_type in (None, subject):
                key = (region[:prefix_length], level, provisional)
                summed[key] = summed.get(key, 0) + n
        return [(*key, n) for key, n in summed.items()]

    def monthly_deltas(self, prefix: str, subject_type: str | None) -> list[tuple[str, int | None, int, int]]:
        """As the repository's monthly_level_deltas, for the region prefix and subject type."""
        summed: dict[tuple[str, int | None, int], int] = {}
        for (region, subject, month, previous, level), n in self.moves.items():
            if region.startswith(prefix) and subject_type in (None, subject):
                summed[(month, previous, level)] = summed.get((month, previous, level), 0) + n
        return [(*key, n) for key, n in summed.items()]
