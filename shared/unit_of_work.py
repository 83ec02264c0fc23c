"""The unit of work of a service that publishes events: its state and its outbox rows commit together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Self

import sqlalchemy
import sqlalchemy.exc

from shared.db import UnitOfWork
from shared.errors import StorageConflict
from shared.events import Event
from shared.outbox import add_event, add_events, present_event_ids
from shared.tracing import current_traceparent

__all__ = ["OutboxUnitOfWork", "StorageConflict"]


class OutboxUnitOfWork(UnitOfWork):
    """Subclasses hang their repositories on the session in `_open_repositories`.

    `committed_events` counts the events committed over the object's life, so the caller knows to wake
    the outbox relay (an RPC never waits for the broker, but should not wait for a poll either).
    """

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        super().__init__(engine)
        self.committed_events = 0
        self._staged_events = 0

    def __enter__(self) -> Self:
        super().__enter__()
        self._staged_events = 0
        self._open_repositories()
        return self

    def _open_repositories(self) -> None:
        """Creates the service's repositories on `self.session`."""

    def add_event(self, topic: str, event: Event) -> None:
        add_event(self.session, topic, event)
        self._staged_events += 1

    def add_events(
        self, topic: str, events: Sequence[Event], trace_contexts: Sequence[str | None] | None = None
    ) -> None:
        """Many events in one statement (an import stages thousands); each with its trace context of
        `trace_contexts` when given (see trace_context), else the current span's."""
        add_events(self.session, topic, events, trace_contexts)
        self._staged_events += len(events)

    def trace_context(self) -> str | None:
        """The current span's trace context, for an event staged now but written later."""
        return current_traceparent()

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` already in the outbox."""
        return present_event_ids(self.session, event_ids)

    def commit(self) -> None:
        """Commits; raises StorageConflict when a unique constraint refuses the write."""
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
