"""The inspections unit of work: its tables and their outbox events change in one transaction."""

from __future__ import annotations

from typing import Self

import sqlalchemy
import sqlalchemy.exc

from services.inspections.repository import InspectionsRepository
from shared.db import UnitOfWork
from shared.events import Event
from shared.outbox import add_event


class StorageConflict(Exception):
    """A unique constraint refused the write: another transaction got there first."""


class InspectionsUnitOfWork(UnitOfWork):
    repository: InspectionsRepository

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        super().__init__(engine)
        # Events committed over this object's life, so the caller knows to wake the outbox relay.
        self.committed_events = 0
        self._staged_events = 0

    def __enter__(self) -> Self:
        super().__enter__()
        self.repository = InspectionsRepository(self.session)
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
