"""Values every record of the registry uses: China's calendar, ISO 8601 dates, one-line text. Pure."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
# The registry's dates are Chinese calendar dates; the PRC's founding bounds them from below.
EARLIEST_DATE = date(1949, 10, 1)
# Control characters, surrogates and line/paragraph separators have no place in a one-line field.
NOT_ONE_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def china_today() -> date:
    return datetime.now(CHINA_STANDARD_TIME).date()


def china_date(moment: datetime) -> date:
    """The calendar day in China at `moment`."""
    return moment.astimezone(CHINA_STANDARD_TIME).date()


def parse_date(text: str, *, required: bool, example: str = "2025-03-01") -> tuple[date | None, str | None]:
    """(date, None) for an ISO 8601 calendar date; (None, None) when an optional one is empty; else
    (None, what is wrong)."""
    if not text:
        return None, ('is required, an ISO 8601 date "YYYY-MM-DD"' if required else None)
    if not _ISO_DATE.fullmatch(text):
        return None, f'must be an ISO 8601 date "YYYY-MM-DD", e.g. "{example}"'
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, f"{text!r} is not a calendar date"


def parse_past_date(
    text: str, today: date, *, required: bool, example: str = "2025-03-01"
) -> tuple[date | None, str | None]:
    """As `parse_date`, for the day something happened: not after `today`, not before EARLIEST_DATE."""
    day, problem = parse_date(text, required=required, example=example)
    if day is not None and day > today:
        return None, f"{day.isoformat()} is in the future (today is {today.isoformat()})"
    if day is not None and day < EARLIEST_DATE:
        return None, f"must not be before {EARLIEST_DATE.isoformat()}"
    return day, problem


def is_one_line(text: str) -> bool:
    return not any(unicodedata.category(c) in NOT_ONE_LINE for c in text)


def text_problem(text: str, maximum: int, required: str | None) -> str | None:
    """What is wrong with a one-line text field of at most `maximum` characters; `required` is the problem
    of an empty one (None: it may be empty)."""
    if not text:
        return required
    if len(text) > maximum:
        return f"must be at most {maximum} characters, got {len(text)}"
    if not is_one_line(text):
        return "must not contain control characters or line breaks"
    return None
