"""The complaints unit of work: complaints, contacts and their outbox events change in one transaction."""

from __future__ import annotations

from services.complaints.adapters.repository import SqlComplaintRepository
from shared.unit_of_work import OutboxUnitOfWork


class ComplaintsUnitOfWork(OutboxUnitOfWork):
    complaints: SqlComplaintRepository

    def _open_repositories(self) -> None:
        self.complaints = SqlComplaintRepository(self.session)
