"""The complaints unit of work: complaints, contacts, the copy of the registry and their outbox events
change in one transaction."""

from __future__ import annotations

from services.complaints.adapters.repository import SqlComplaintRepository, SqlRegistryCopyRepository
from shared.unit_of_work import OutboxUnitOfWork


class ComplaintsUnitOfWork(OutboxUnitOfWork):
    complaints: SqlComplaintRepository
    registry: SqlRegistryCopyRepository

    def _open_repositories(self) -> None:
        self.complaints = SqlComplaintRepository(self.session)
        self.registry = SqlRegistryCopyRepository(self.session)
