"""The PRC working-day calendar: the State Council's schedules, the operator file, unknown years."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.settings import Settings
from shared.wiring import working_calendar
from shared.workdays import (
    CHINA,
    PACKAGE_YEARS,
    PRC,
    CalendarFileError,
    china_date,
    load_calendar,
    start_of_china_day,
)


def test_holidays_and_adjusted_working_weekends_of_the_state_council() -> None:
    assert not PRC.is_working_day(date(2026, 10, 7))  # National Day holiday, a Wednesday
    assert PRC.is_working_day(date(2026, 10, 10))  # Saturday moved into the week (调休)
    assert not PRC.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert PRC.is_working_day(date(2026, 9, 28))
    # Spring Festival 2026: 15-23 February off, Saturdays 14 and 28 February worked.
    assert [PRC.is_working_day(date(2026, 2, d)) for d in (13, 14, 15, 23, 24, 28)] == [
        True,
        True,
        False,
        False,
        True,
        True,
    ]


def test_the_national_day_example_of_the_issue() -> None:
    # Monday-Friday on the calendar alone would give 7 October, inside the holiday.
    assert PRC.add_working_days(date(2026, 9, 28), 7) == date(2026, 10, 13)
    assert PRC.working_day_before(date(2026, 10, 13), 7) == date(2026, 9, 28)
    assert PRC.add_working_days(date(2026, 9, 28), 0) == date(2026, 9, 28)


def test_the_china_date_is_the_date_in_shanghai() -> None:
    assert china_date(datetime(2026, 9, 27, 16, 0, tzinfo=UTC)) == date(2026, 9, 28)
    assert china_date(datetime(2026, 9, 27, 15, 59, 59, tzinfo=UTC)) == date(2026, 9, 27)
    assert start_of_china_day(date(2026, 9, 28)) == datetime(2026, 9, 27, 16, 0, tzinfo=UTC)
    # A period ends at midnight China time after its last working day.
    received = datetime(2026, 9, 28, 9, 0, tzinfo=CHINA)
    assert PRC.period_end(received, 7) == datetime(2026, 10, 14, tzinfo=CHINA)


@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 1), timezones=st.just(UTC)
    ),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
    days=st.integers(min_value=0, max_value=60),
)
def test_the_query_cutoff_agrees_with_the_period_end(start: datetime, later: timedelta, days: int) -> None:
    """What a database query selects (start < started_before(now)) is what a single complaint says
    (period_end(start) <= now), for every start, moment and length."""
    now = start + later
    assert (PRC.period_end(start, days) <= now) == (start < PRC.started_before(now, days))


def test_a_year_neither_knows_counts_monday_to_friday_and_warns_once_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert PACKAGE_YEARS.stop - 1 >= 2026 and 2099 not in PACKAGE_YEARS
    missing = tmp_path / "calendar.toml"
    calendar = load_calendar(missing)
    with caplog.at_level(logging.WARNING, logger="integrity.workdays"):
        assert calendar.add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Friday -> Monday
        assert calendar.is_working_day(date(2099, 1, 1))  # New Year unknown: a Thursday like any other
        calendar.add_working_days(date(2099, 3, 2), 20)
    warnings = [r for r in caplog.records if r.name == "integrity.workdays"]
    assert len(warnings) == 1
    assert "2099" in warnings[0].getMessage() and str(missing) in warnings[0].getMessage()


def test_the_operator_file_adds_a_year_and_corrects_days(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        """
[2099]
source = "国务院办公厅关于2099年部分节假日安排的通知"
rest = [2099-01-01, "2099-01-26..2099-02-01"]
work = [2099-01-24]

[2026]
rest = [2026-09-29]   # a correction of a year the package knows
""",
        encoding="utf-8",
    )
    calendar = working_calendar(Settings(calendar_file=path))
    with caplog.at_level(logging.WARNING, logger="integrity.workdays"):
        assert not calendar.is_working_day(date(2099, 1, 1))
        assert calendar.is_working_day(date(2099, 1, 24))  # a Saturday worked
        assert not calendar.is_working_day(date(2099, 1, 28))
        assert calendar.is_working_day(date(2099, 2, 2))
        assert calendar.knows(2099) and not calendar.knows(2098)
    assert not [r for r in caplog.records if r.name == "integrity.workdays"]
    # The correction wins; the rest of 2026 is still the State Council's.
    assert not calendar.is_working_day(date(2026, 9, 29))
    assert calendar.is_working_day(date(2026, 10, 10))
    assert calendar.add_working_days(date(2026, 9, 28), 7) == date(2026, 10, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[2027]\nrest = [2028-01-01]\n", "2028-01-01 is not in 2027"),
        ("[2027]\nrest = [2027-01-01]\nwork = [2027-01-01]\n", "both a rest day and a working day"),
        ('[2027]\nrest = ["1 January"]\n', "is not a date"),
        ('[2027]\nholidays = ["2027-01-01"]\n', "unknown keys ['holidays']"),
        ("[next]\nrest = []\n", "tables are years"),
        ("[2027\n", "calendar.toml"),
    ],
)
def test_a_wrong_operator_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError) as refused:
        load_calendar(path)
    assert expected in str(refused.value) and str(path) in str(refused.value)
