"""The registry's SQL unit of work: the registry and its outbox events change in one transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager

from services.enterprises.adapters.repository import (
    SqlDeclarationRepository,
    SqlEnterpriseRepository,
    SqlInstrumentRepository,
)
from shared.unit_of_work import OutboxUnitOfWork


class EnterprisesUnitOfWork(OutboxUnitOfWork):
    enterprises: SqlEnterpriseRepository
    instruments: SqlInstrumentRepository
    declarations: SqlDeclarationRepository

    def _open_repositories(self) -> None:
        self.enterprises = SqlEnterpriseRepository(self.session)
        self.instruments = SqlInstrumentRepository(self.session)
        self.declarations = SqlDeclarationRepository(self.session)

    def batched_writes(self) -> AbstractContextManager[object]:
        return self.session.no_autoflush
