"""The contract between `integrity import` and a service that owns imported events.

The operations layer reads a history file, dispatches each event to the service that owns it
(`ServiceManifest.history`), and hands it batches in an open unit of work. The service checks each event
by its own rules and stages what it accepts in its outbox (and wherever else it keeps that state), with
`stage_events` doing the part every service shares: skipping events already present, reporting a refusal
in the words of the service's API, and staging the accepted ones in one statement.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from shared.errors import IntegrityError
from shared.events import Event


class Outcome(Enum):
    IMPORTED = "imported"
    PRESENT = "present"  # the event id is in the outbox already (imported before, or produced here)
    REFUSED = "refused"


@dataclass(frozen=True)
class ImportOutcome:
    outcome: Outcome
    message: str = ""  # why a refused event was refused

    @classmethod
    def refused(cls, message: str) -> ImportOutcome:
        return cls(Outcome.REFUSED, message)


IMPORTED = ImportOutcome(Outcome.IMPORTED)
PRESENT = ImportOutcome(Outcome.PRESENT)


class ImportingUnitOfWork(Protocol):
    """What staging imported events needs of a service's unit of work (SQL or fake)."""

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]: ...

    def add_events(self, topic: str, events: Sequence[Event]) -> None: ...


def short_type(event: Event) -> str:
    """`integrity.events.v1.InspectionCompleted` -> `InspectionCompleted`."""
    return event.type.rsplit(".", 1)[-1]


def stage_events(
    uow: ImportingUnitOfWork, events: Sequence[Event], topic: str, apply: Callable[[Event], None]
) -> list[ImportOutcome]:
    """Each event's outcome, in order. `apply(event)` checks one event by the service's rules (and writes
    the service's own state for it); an IntegrityError refuses the event with its message, and must leave
    nothing written. Accepted events are staged in the outbox under `topic`."""
    present = uow.present_event_ids([event.id for event in events])
    outcomes: list[ImportOutcome] = []
    accepted: list[Event] = []
    for event in events:
        if event.id in present:
            outcomes.append(PRESENT)
            continue
        try:
            apply(event)
        except IntegrityError as err:
            outcomes.append(ImportOutcome.refused(f"{short_type(event)}: {err.message}"))
            continue
        present.add(event.id)  # a repeat later in the batch is present
        accepted.append(event)
        outcomes.append(IMPORTED)
    uow.add_events(topic, accepted)
    return outcomes
