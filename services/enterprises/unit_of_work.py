"""The enterprises unit of work: the registry and its outbox events change in one transaction."""

from __future__ import annotations

from typing import Protocol, Self

from services.enterprises.repository import (
    DeclarationRepository,
    EnterpriseRepository,
    InstrumentRepository,
    SqlDeclarationRepository,
    SqlEnterpriseRepository,
    SqlInstrumentRepository,
)
from shared.events import Event
from shared.unit_of_work import OutboxUnitOfWork


class EnterprisesUoW(Protocol):
    """What the use cases need; the SQL unit of work and the test fake both provide it."""

    enterprises: EnterpriseRepository
    instruments: InstrumentRepository
    declarations: DeclarationRepository
    # Events committed over this object's life, so the caller knows to wake the outbox relay.
    committed_events: int

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_event(self, topic: str, event: Event) -> None: ...

    def commit(self) -> None:
        """Commits; raises StorageConflict when a unique constraint refuses the write."""
        ...


class EnterprisesUnitOfWork(OutboxUnitOfWork):
    enterprises: SqlEnterpriseRepository
    instruments: SqlInstrumentRepository
    declarations: SqlDeclarationRepository

    def _open_repositories(self) -> None:
        self.enterprises = SqlEnterpriseRepository(self.session)
        self.instruments = SqlInstrumentRepository(self.session)
        self.declarations = SqlDeclarationRepository(self.session)
