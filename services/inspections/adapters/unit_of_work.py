"""The inspections unit of work: its tables and their outbox events change in one transaction."""

from __future__ import annotations

from services.inspections.adapters.local_copy_repository import SqlEnterpriseCopyRepository
from services.inspections.adapters.repository import (
    SqlInspectionRepository,
    SqlInspectorRepository,
    SqlPlanRepository,
)
from shared.unit_of_work import OutboxUnitOfWork


class InspectionsUnitOfWork(OutboxUnitOfWork):
    inspectors: SqlInspectorRepository
    plans: SqlPlanRepository
    inspections: SqlInspectionRepository
    # The local copy of other services' facts about enterprises.
    enterprises: SqlEnterpriseCopyRepository

    def _open_repositories(self) -> None:
        self.inspectors = SqlInspectorRepository(self.session)
        self.plans = SqlPlanRepository(self.session)
        self.inspections = SqlInspectionRepository(self.session)
        self.enterprises = SqlEnterpriseCopyRepository(self.session)
