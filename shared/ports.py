"""The platform's unit of work as use cases see it: a Protocol free of SQL, which each service's own
protocol (`services/<name>/use_cases/unit_of_work.py`) extends with its repositories. The SQL unit of work
(`shared.unit_of_work.OutboxUnitOfWork` and its subclasses) and each service's in-memory test fake
provide it, so use cases run on either."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, Self

from shared.events import Event


class UnitOfWorkPort(Protocol):
    # Events committed over this object's life, so the caller knows to wake the outbox relay.
    committed_events: int

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_event(self, topic: str, event: Event) -> None: ...

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        """Many events in one statement (an import stages thousands)."""
        ...

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` already in the outbox."""
        ...

    def commit(self) -> None:
        """Commits; raises shared.errors.StorageConflict when a unique constraint refuses the write."""
        ...

    def rollback(self) -> None: ...
