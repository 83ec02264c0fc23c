"""What the complaints use cases need of a unit of work: the SQL one (`adapters.unit_of_work`) and the
test fake (`tests/unit/complaints/fakes.py`) both provide it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.complaints.domain.complaint import Complaint, ComplaintQuery
from services.complaints.domain.intake import Contact
from shared.ports import UnitOfWorkPort


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

    def unmatched_of(self, uscc: str) -> list[Complaint]:
        """The complaints against `uscc` not matched to a registered enterprise yet, oldest first."""
        ...

    def move_region(self, uscc: str, region_code: str) -> None:
        """The matched complaints against `uscc` follow the enterprise to its new registered region."""
        ...


class RegistryCopy(Protocol):
    """The registered regions of enterprises, as the enterprises topic announced them."""

    def hold(self, uscc: str) -> str | None:
        """Holds the USCC against concurrent matching until the transaction ends; its registered region,
        None while the registry has not announced it."""
        ...

    def record(self, uscc: str, region_code: str) -> str | None:
        """Stores the enterprise's registered region (holding it); the region known before, if any."""
        ...


class ComplaintsUoW(UnitOfWorkPort, Protocol):
    complaints: ComplaintRepository
    registry: RegistryCopy
