"""Publication dates (一公开): a result is public a number of working days after the inspection, counted on
the PRC working-day calendar (public holidays and adjusted working weekends) from the China date."""

from __future__ import annotations

from datetime import date, datetime

from shared.workdays import WorkingCalendar, china_date


def publication_date(completed_at: datetime, working_days: int, calendar: WorkingCalendar) -> date:
    """The China date from which a result completed at `completed_at` is public: the `working_days`-th
    working day after the China date of completion (that date itself is not counted)."""
    return calendar.add_working_days(china_date(completed_at), working_days)
