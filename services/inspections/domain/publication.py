"""Publication dates (一公开): a result is public a number of working days after the inspection."""

from __future__ import annotations

from datetime import date, timedelta


def add_working_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`; public holidays are not known here."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
