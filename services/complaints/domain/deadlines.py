"""Deadlines per state, and the rules a deployment sets for them and for duplicates (`Rules`).

The SAMR complaint rules (市场监督管理投诉举报处理暂行办法, 2022 text) count working days: a complaint is
accepted or refused within 7 working days of its receipt (Art. 14, 自收到投诉之日起七个工作日内), and
mediation ends when no agreement is reached within 45 working days of acceptance (Art. 21,
自投诉受理之日起四十五个工作日内). The day of receipt or acceptance is not counted; a deadline passes at
midnight China time after its last working day (`shared.workdays`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.complaints.domain.complaint import ACCEPTED, INVESTIGATING, RECEIVED, Complaint
from shared.workdays import PRC, WorkingCalendar

ACCEPT_WORKING_DAYS = 7
RESOLVE_WORKING_DAYS = 45


@dataclass(frozen=True)
class Deadlines:
    """Per-state deadlines in working days of the PRC calendar, from the China date of receipt (accept)
    or of acceptance (resolve)."""

    accept_working_days: int = ACCEPT_WORKING_DAYS
    resolve_working_days: int = RESOLVE_WORKING_DAYS
    calendar: WorkingCalendar = PRC

    def due_time(self, complaint: Complaint) -> datetime | None:
        if complaint.state == RECEIVED:
            return self.calendar.period_end(complaint.create_time, self.accept_working_days)
        if complaint.state in (ACCEPTED, INVESTIGATING) and complaint.accept_time is not None:
            return self.calendar.period_end(complaint.accept_time, self.resolve_working_days)
        return None

    def is_overdue(self, complaint: Complaint, now: datetime) -> bool:
        due = self.due_time(complaint)
        return due is not None and due <= now

    def received_before(self, now: datetime) -> datetime:
        """RECEIVED complaints created before this are overdue for acceptance."""
        return self.calendar.started_before(now, self.accept_working_days)

    def accepted_before(self, now: datetime) -> datetime:
        """ACCEPTED or INVESTIGATING complaints accepted before this are overdue for resolution."""
        return self.calendar.started_before(now, self.resolve_working_days)


@dataclass(frozen=True)
class Rules:
    """What a deployment configures (`settings.ComplaintSettings`)."""

    deadlines: Deadlines = field(default_factory=Deadlines)
    # A repeat within this window is linked to the original; zero turns duplicate detection off.
    duplicate_window: timedelta = timedelta(days=30)
