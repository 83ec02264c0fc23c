"""What the complaints use cases need of a unit of work: the SQL one (`adapters.unit_of_work`) and the
test fake (`tests/unit/complaints/fakes.py`) both provide it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, Self

from services.complaints.domain.complaint import Complaint, ComplaintQuery
from services.complaints.domain.intake import Contact
from shared.events import Event


class ComplaintRepository(Protocol):
    """Complaints and their complainants' contacts, as domain objects."""

    def add(self, complaint: Complaint, contact: Contact | None) -> None: ...

    def save(self, complaint: Complaint, expected_etag: str) -> bool:
        """Writes a changed complaint if it still has `expected_etag`; False when someone changed it first."""
        ...

    def get(self, complaint_id: str) -> Complaint | None: ...

    def get_by_request_id(self, request_id: str) -> Complaint | None: ...

    def get_by_receipt(self, receipt_code: str) -> Complaint | None: ...

    def contact_of(self, complaint_id: str) -> Contact | None: ...

    def find_original(
        self, complainant_key: str, uscc: str, category: int, since: datetime
    ) -> Complaint | None:
        """The earliest non-duplicate by the same complainant, enterprise and category since `since`."""
        ...

    def list(self, query: ComplaintQuery, after_id: str | None, limit: int) -> list[Complaint]:
        """Up to `limit` matches, newest first, those older than `after_id` (keyset pagination)."""
        ...

    def list_overdue(
        self,
        region_code: str,
        received_before: datetime,
        accepted_before: datetime,
        after_id: str | None,
        limit: int,
    ) -> list[Complaint]:
        """Open complaints in `region_code` past their deadline, oldest first, those after `after_id`."""
        ...


class ComplaintsUoW(Protocol):
    complaints: ComplaintRepository
    # Events committed over this object's life, so the caller knows to wake the outbox relay.
    committed_events: int

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_event(self, topic: str, event: Event) -> None: ...

    def add_events(self, topic: str, events: Sequence[Event]) -> None: ...

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]: ...

    def commit(self) -> None:
        """Commits; raises StorageConflict when a unique constraint refuses the write."""
        ...

    def rollback(self) -> None: ...
