"""An in-memory stand-in for the complaints unit of work (same repository, same methods, no database).

It mirrors `services.complaints.adapters.unit_of_work.ComplaintsUnitOfWork`: `uow.complaints` answers the
same questions as the SQL repository, nothing is visible to the next unit of work until `commit()`, and a
commit that breaks a unique key (id, receipt code, request id) raises StorageConflict like the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from services.complaints.domain.complaint import (
    ACCEPTED,
    INVESTIGATING,
    MATCHED,
    RECEIVED,
    UNMATCHED,
    Complaint,
    ComplaintQuery,
)
from services.complaints.domain.intake import Contact
from shared.errors import StorageConflict
from shared.events import Event
from shared.regions import region_contains


class FakeComplaintRepository:
    def __init__(self, rows: dict[str, Complaint], contacts: dict[str, Contact]) -> None:
        self.rows = rows
        self.contacts = contacts
        self.added: list[Complaint] = []

    def add(self, complaint: Complaint, contact: Contact | None) -> None:
        self.rows[complaint.id] = complaint
        self.added.append(complaint)
        if contact is not None:
            self.contacts[complaint.id] = contact

    def save(self, complaint: Complaint, expected_etag: str) -> bool:
        stored = self.rows.get(complaint.id)
        if stored is None or stored.etag != expected_etag:
            return False
        self.rows[complaint.id] = complaint
        return True

    def get(self, complaint_id: str) -> Complaint | None:
        return self.rows.get(complaint_id)

    def get_by_request_id(self, request_id: str) -> Complaint | None:
        return next((c for c in self.rows.values() if c.request_id == request_id), None)

    def get_by_receipt(self, receipt_code: str) -> Complaint | None:
        return next((c for c in self.rows.values() if c.receipt_code == receipt_code), None)

    def contact_of(self, complaint_id: str) -> Contact | None:
        return self.contacts.get(complaint_id)

    def find_original(
        self, complainant_key: str, uscc: str, category: int, since: datetime
    ) -> Complaint | None:
        candidates = [
            c
            for c in self.rows.values()
            if (c.complainant_key, c.uscc, c.category) == (complainant_key, uscc, category)
            and c.duplicate_of is None
            and c.create_time >= since
        ]
        return min(candidates, key=lambda c: (c.create_time, c.id), default=None)

    def list(self, query: ComplaintQuery, after_id: str | None, limit: int) -> list[Complaint]:
        def matches(c: Complaint) -> bool:
            return (
                query.uscc in (None, c.uscc)
                and (query.region_code is None or region_contains(query.region_code, c.region_code))
                and query.state in (None, c.state)
                and (query.states is None or c.state in query.states)
                and query.category in (None, c.category)
                and (query.duplicate is None or (c.duplicate_of is not None) == query.duplicate)
                and (
                    query.filer_subject is None
                    or (c.filer_subject, c.filer_role) == (query.filer_subject, "system")
                )
                and (after_id is None or c.id < after_id)
            )

        return sorted(filter(matches, self.rows.values()), key=lambda c: c.id, reverse=True)[:limit]

    def list_overdue(
        self,
        region_code: str,
        received_before: datetime,
        accepted_before: datetime,
        after_id: str | None,
        limit: int,
    ) -> list[Complaint]:
        def overdue(c: Complaint) -> bool:
            late_to_accept = c.state == RECEIVED and c.create_time < received_before
            late_to_resolve = (
                c.state in (ACCEPTED, INVESTIGATING)
                and c.accept_time is not None
                and c.accept_time < accepted_before
            )
            return (
                region_contains(region_code, c.region_code)
                and (late_to_accept or late_to_resolve)
                and (after_id is None or c.id > after_id)
            )

        return sorted(filter(overdue, self.rows.values()), key=lambda c: c.id)[:limit]

    def unmatched_of(self, uscc: str) -> list[Complaint]:
        found = [c for c in self.rows.values() if c.uscc == uscc and c.match_status == UNMATCHED]
        return sorted(found, key=lambda c: c.id)

    def move_region(self, uscc: str, region_code: str) -> None:
        for complaint in list(self.rows.values()):
            if complaint.uscc == uscc and complaint.match_status == MATCHED:
                self.rows[complaint.id] = replace(complaint, region_code=region_code)


class FakeRegistryCopy:
    def __init__(self, regions: dict[str, str]) -> None:
        self.regions = regions

    def hold(self, uscc: str) -> str | None:
        return self.regions.get(uscc)

    def record(self, uscc: str, region_code: str) -> str | None:
        previous = self.regions.get(uscc)
        self.regions[uscc] = region_code
        return previous


@dataclass
class FakeUnitOfWork:
    """Commits copy the working set over `committed`; `published` holds the committed events in order.

    `before_commit`, when set, runs once just before the next commit: a test uses it to let a
    concurrent writer slip in (the race that the database's unique constraints settle).
    """

    committed: dict[str, Complaint] = field(default_factory=dict)
    committed_contacts: dict[str, Contact] = field(default_factory=dict)
    # USCC -> registered region: the copy of the registry.
    committed_registry: dict[str, str] = field(default_factory=dict)
    published: list[tuple[str, Event]] = field(default_factory=list)
    committed_events: int = 0
    before_commit: Callable[[FakeUnitOfWork], None] | None = None

    def __enter__(self) -> Self:
        self.complaints = FakeComplaintRepository(dict(self.committed), dict(self.committed_contacts))
        self.registry = FakeRegistryCopy(dict(self.committed_registry))
        self._staged: list[tuple[str, Event]] = []
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    def add_event(self, topic: str, event: Event) -> None:
        self._staged.append((topic, event))

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        self._staged.extend((topic, event) for event in events)

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        return {event.id for _, event in self.published} & set(event_ids)

    def commit(self) -> None:
        if self.before_commit is not None:
            hook, self.before_commit = self.before_commit, None
            hook(self)
        for new in self.complaints.added:
            if any(
                c.id == new.id
                or c.receipt_code == new.receipt_code
                or (new.request_id is not None and c.request_id == new.request_id)
                for c in self.committed.values()
            ):
                self.rollback()
                raise StorageConflict(f"duplicate key for complaint {new.id}")
        self.committed = dict(self.complaints.rows)
        self.committed_contacts = dict(self.complaints.contacts)
        self.committed_registry = dict(self.registry.regions)
        self.complaints.added = []
        self.published.extend(self._staged)
        self.committed_events += len(self._staged)
        self._staged = []

    def rollback(self) -> None:
        self._staged = []

    # --- for tests ----------------------------------------------------------------------------------

    def store(self, complaint: Complaint, contact: Contact | None = None) -> Complaint:
        """Puts `complaint` in the committed state directly, as if an earlier unit of work had."""
        self.committed[complaint.id] = complaint
        if contact is not None:
            self.committed_contacts[complaint.id] = contact
        return complaint

    def stored(self, complaint_id: str) -> Complaint:
        return self.committed[complaint_id]

    def event_types(self) -> list[str]:
        return [event.WhichOneof("payload") or "" for _, event in self.published]
