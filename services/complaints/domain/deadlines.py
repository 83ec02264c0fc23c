"""Deadlines per state, and the rules a deployment sets for them and for duplicates (`Rules`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.complaints.domain.complaint import ACCEPTED, INVESTIGATING, RECEIVED, Complaint


@dataclass(frozen=True)
class Deadlines:
    """Per-state deadlines in calendar days (24-hour periods from the event; holidays are not skipped)."""

    accept_days: int = 7
    resolve_days: int = 60

    def due_time(self, complaint: Complaint) -> datetime | None:
        if complaint.state == RECEIVED:
            return complaint.create_time + timedelta(days=self.accept_days)
        if complaint.state in (ACCEPTED, INVESTIGATING) and complaint.accept_time is not None:
            return complaint.accept_time + timedelta(days=self.resolve_days)
        return None

    def is_overdue(self, complaint: Complaint, now: datetime) -> bool:
        due = self.due_time(complaint)
        return due is not None and due < now

    def received_before(self, now: datetime) -> datetime:
        """RECEIVED complaints created before this are overdue for acceptance."""
        return now - timedelta(days=self.accept_days)

    def accepted_before(self, now: datetime) -> datetime:
        """ACCEPTED or INVESTIGATING complaints accepted before this are overdue for resolution."""
        return now - timedelta(days=self.resolve_days)


@dataclass(frozen=True)
class Rules:
    """What a deployment configures (`settings.ComplaintSettings`)."""

    deadlines: Deadlines = field(default_factory=Deadlines)
    # A repeat within this window is linked to the original; zero turns duplicate detection off.
    duplicate_window: timedelta = timedelta(days=30)
