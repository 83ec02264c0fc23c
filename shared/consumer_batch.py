"""A poll batch handed whole to a batch handler (`EventConsumer(batch_handler=...)`), in the consumer's
transaction.

The handler reads what the whole batch needs in a few queries and writes with executemany, instead of a
few statements per event. The consumer's rules stay those of the per-event path (shared/consumer.py): a
failure the handler pins to one event (`BatchEventFailed`) is judged like a per-event handler's error
(poison is dead-lettered alone and the rest applied, a transient error retried from that event), and
anything else (a database error in a bulk read or write, a duplicate id recorded by a concurrent consumer)
rolls the batch back and runs it again through the per-event handler, which pins it to its record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from shared.events import BatchEventFailed, Event
from shared.inbox import mark_all_processed, processed_among

log = logging.getLogger("integrity.consumer")

BatchHandler = Callable[[Any, list[tuple[Event, str]]], None]
"""(the service's unit of work, open on the batch's transaction; [(event, topic)] in batch order, without
the events already processed). Must not commit; raises BatchEventFailed(position, error) for an event that
fails on its own (InvalidEvent for poison), anything else for a failure of the batch as a whole."""


class _Item(Protocol):
    @property
    def event(self) -> Event: ...

    @property
    def record(self) -> Any: ...


class FallBack(Exception):
    """The batch failed as a whole: roll back and run it through the per-event handler."""


def try_batch(
    unit_of_work: Any, handler: BatchHandler, pending: Sequence[_Item], commit_failed: type[Exception]
) -> tuple[int, Exception] | None:
    """Runs `handler` over the events of `pending` not processed before (nor earlier in the batch),
    records their ids and commits, in `unit_of_work` (not entered yet). Returns None when committed;
    (position in `pending`, error) for a failure pinned to an event, and (0, commit_failed(error)) for a
    failed commit, both rolled back; raises FallBack, rolled back, for any other failure."""
    with unit_of_work as uow:
        failure = _handle(uow, handler, pending)
        if failure is not None:
            return failure
        try:
            uow.commit()
        except Exception as exc:
            return 0, commit_failed(exc)
    return None


def _handle(uow: Any, handler: BatchHandler, pending: Sequence[_Item]) -> tuple[int, Exception] | None:
    seen = processed_among(uow.session, {item.event.id for item in pending})
    positions: list[int] = []
    batch: list[tuple[Event, str]] = []
    for position, item in enumerate(pending):
        if item.event.id not in seen:  # processed before, or a duplicate earlier in this batch
            seen.add(item.event.id)
            positions.append(position)
            batch.append((item.event, item.record.topic))
    if not batch:
        return None
    try:
        handler(uow, batch)
        mark_all_processed(uow.session, [(event.id, topic) for event, topic in batch])
    except BatchEventFailed as failed:
        return positions[failed.position], failed.cause
    except Exception as exc:
        log.warning("batch of %d events failed as a whole (%s); applying them one by one", len(batch), exc)
        raise FallBack from exc
    return None
