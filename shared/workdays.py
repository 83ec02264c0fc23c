"""Working days of the People's Republic of China (工作日), on the China date (Asia/Shanghai).

Statutory periods "within N working days" (N个工作日内) skip Saturdays, Sundays and public holidays, and
count the adjusted working weekends (调休) that the State Council's yearly schedule (国务院办公厅关于某年
部分节假日安排的通知) moves into the week. The schedules come from the `chinese-calendar` package (the
State Council's notices from 2004 on; 1.11.0 ends with 2026), and an operator file adds or corrects days:
the State Council publishes a year's schedule late in the year before, often before a package release
carries it. The file is TOML, one table per year:

    [2027]
    source = "国务院办公厅关于2027年部分节假日安排的通知"
    rest = [2027-01-01, "2027-02-06..2027-02-12"]   # days off: holidays and the weekends inside them
    work = [2027-02-14]                             # adjusted working weekends (调休)

A day the file names is what the file says (for a year the package knows, the file corrects it); any
other day is the package's, or in a year the package does not know, Monday to Friday: the file's table
then holds the year's whole schedule. A year neither knows is counted Monday to Friday, and a warning (once
per year and process) names the file to fill in.

Periods follow the rule of Chinese procedural law that the day a period starts from is not counted
(期间开始之日不计算在内): N working days from a day are the N working days after it, and the period ends
when the last of them ends, at midnight China time.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _schedules

CHINA = ZoneInfo("Asia/Shanghai")
PACKAGE = f"chinese-calendar {getattr(chinese_calendar, '__version__', '')}".strip()
PACKAGE_YEARS = range(min(_schedules.holidays).year, max(_schedules.holidays).year + 1)
# A period longer than this many calendar days is a mistake, not a deadline.
_MAX_SPAN_DAYS = 3660

log = logging.getLogger("integrity.workdays")


class CalendarFileError(ValueError):
    """The operator's calendar file cannot be used; the message names the file and the entry."""


def china_date(moment: datetime) -> date:
    """The date in China at `moment` (an aware datetime; a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()


def start_of_china_day(day: date) -> datetime:
    """Midnight at the start of `day` in China, in UTC."""
    return datetime.combine(day, time(), tzinfo=CHINA).astimezone(UTC)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which China dates are working days. `overrides`: the operator file's days (True: a working day);
    `file_years`: the years the file has a table for; `file`: where it is, named in warnings."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    file_years: frozenset[int] = frozenset()
    file: str = ""
    _warned: set[int] = field(default_factory=set, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def knows(self, year: int) -> bool:
        """True when the year's schedule is in the package or the operator file."""
        return year in PACKAGE_YEARS or year in self.file_years

    def is_working_day(self, day: date) -> bool:
        if (said := self.overrides.get(day)) is not None:
            return said
        if day.year in PACKAGE_YEARS:
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self.file_years:
            self._warn_unknown(day.year)
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (`start` itself is not counted); `start` when 0."""
        if days < 0:
            raise ValueError(f"a number of working days cannot be negative, got {days}")
        current, remaining = start, days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
            self._check_span(start, current)
        return current

    def working_day_before(self, day: date, days: int) -> date:
        """The `days`-th working day before `day` (`day` itself is not counted); `day` when 0."""
        if days < 0:
            raise ValueError(f"a number of working days cannot be negative, got {days}")
        current, remaining = day, days
        while remaining > 0:
            current -= timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
            self._check_span(current, day)
        return current

    def period_end(self, start: datetime, days: int) -> datetime:
        """When a period of `days` working days from `start` ends: midnight China time after its last day."""
        return start_of_china_day(self.add_working_days(china_date(start), days) + timedelta(days=1))

    def started_before(self, now: datetime, days: int) -> datetime:
        """Periods of `days` working days that started before this moment have ended by `now` (the cutoff
        a database query compares start times with; consistent with `period_end(start) <= now`)."""
        return start_of_china_day(self.working_day_before(china_date(now), days))

    def _check_span(self, first: date, last: date) -> None:
        if (last - first).days > _MAX_SPAN_DAYS:
            raise ValueError(
                f"no working day between {first} and {last}: check the calendar file {self.file}"
            )

    def _warn_unknown(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        where = self.file or "the file INTEGRITY_CALENDAR_FILE names"
        log.warning(
            f"no working-day schedule for {year}: {PACKAGE} has {PACKAGE_YEARS.start}-"
            f"{PACKAGE_YEARS.stop - 1} and {where} has no [{year}] table; counting Monday to Friday. "
            f"Add the State Council's {year} "
            f"schedule (国务院办公厅关于{year}年部分节假日安排的通知) to {where}.",
            extra={"year": year, "calendar_file": self.file},
        )


def load_calendar(path: Path | None) -> WorkingCalendar:
    """The calendar with the operator file at `path` (none, or a path that does not exist: the package's
    schedules only). CalendarFileError naming the file and entry when the file is wrong."""
    if path is None or not path.exists():
        return WorkingCalendar(file=str(path) if path is not None else "")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CalendarFileError(f"{path}: {exc}") from None
    overrides: dict[date, bool] = {}
    years = set()
    for key, table in document.items():
        where = f"{path}: [{key}]"
        if not (key.isdigit() and len(key) == 4) or not isinstance(table, dict):
            raise CalendarFileError(
                f"{where}: tables are years, e.g. [2027] with rest = [...] and work = [...]"
            )
        if unknown := set(table) - {"rest", "work", "source"}:
            raise CalendarFileError(f"{where}: unknown keys {sorted(unknown)}; use rest, work and source")
        year = int(key)
        years.add(year)
        for kind, working in (("rest", False), ("work", True)):
            for day in _days(table.get(kind, []), f"{where} {kind}", year):
                if overrides.get(day, working) != working:
                    raise CalendarFileError(f"{where}: {day} is both a rest day and a working day")
                overrides[day] = working
    return WorkingCalendar(overrides, frozenset(years), str(path))


def _days(entries: object, where: str, year: int) -> Iterable[date]:
    if not isinstance(entries, list):
        raise CalendarFileError(
            f'{where}: must be a list of dates, e.g. [{year}-01-01, "{year}-02-06..{year}-02-12"]'
        )
    for entry in entries:
        for day in _expand(entry, where):
            if day.year != year:
                raise CalendarFileError(f"{where}: {day} is not in {year}")
            yield day


def _expand(entry: object, where: str) -> list[date]:
    if isinstance(entry, date) and not isinstance(entry, datetime):
        return [entry]
    if isinstance(entry, str):
        first, _, last = entry.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            pass
        else:
            if start <= end:
                return [start + timedelta(days=n) for n in range((end - start).days + 1)]
    raise CalendarFileError(
        f'{where}: {entry!r} is not a date (2027-01-01) or a range ("2027-02-06..2027-02-12")'
    )


# The package's schedules alone: what tests and tools use when no operator file is configured.
PRC = WorkingCalendar()
