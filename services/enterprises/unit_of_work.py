"""The enterprises unit of work: the registry and its outbox events change in one transaction."""

from __future__ import annotations

from typing import Protocol, Self

import sqlalchemy.exc

from services.enterprises.repository import (
    DeclarationRepository,
    EnterpriseRepository,
    InstrumentRepository,
    SqlDeclarationRepository,
    SqlEnterpriseRepository,
    SqlInstrumentRepository,
)
from shared.db import UnitOfWork
from shared.events import Event
from shared.outbox import add_event


class StorageConflict(Exception):
    """A unique constraint refused the write: another transaction registered the same key first."""


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


class EnterprisesUnitOfWork(UnitOfWork):
    enterprises: SqlEnterpriseRepository
    instruments: SqlInstrumentRepository
    declarations: SqlDeclarationRepository

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        super().__init__(engine)
        self.committed_events = 0
        self._staged_events = 0

    def __enter__(self) -> Self:
        super().__enter__()
        self.enterprises = SqlEnterpriseRepository(self.session)
        self.instruments = SqlInstrumentRepository(self.session)
        self.declarations = SqlDeclarationRepository(self.session)
        self._staged_events = 0
        return self

    def add_event(self, topic: str, event: Event) -> None:
        add_event(self.session, topic, event)
        self._staged_events += 1

    def commit(self) -> None:
        try:
            super().commit()
        except sqlalchemy.exc.IntegrityError as exc:
            self.session.rollback()
            self._staged_events = 0
            raise StorageConflict(str(exc.orig)) from exc
        self.committed_events += self._staged_events
        self._staged_events = 0

    def rollback(self) -> None:
        super().rollback()
        self._staged_events = 0
