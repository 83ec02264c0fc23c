"""The inspections unit of work: its tables and their outbox events change in one transaction."""

from __future__ import annotations

from services.inspections.adapters.repository import InspectionsRepository
from shared.unit_of_work import OutboxUnitOfWork


class InspectionsUnitOfWork(OutboxUnitOfWork):
    repository: InspectionsRepository

    def _open_repositories(self) -> None:
        self.repository = InspectionsRepository(self.session)
