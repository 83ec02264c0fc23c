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
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, NamedTuple, Protocol

from shared.events import BatchEventFailed, Event
from shared.inbox import mark_all_processed, processed_among
from shared.tracing import processing

log = logging.getLogger("integrity.consumer")


class BatchItem(NamedTuple):
    """An event of the batch, its topic, and the span to handle it in (`with item.span():`: the record's
    processing span, child of its publish span, so what the handler stages for it carries the trace on)."""

    event: Event
    topic: str
    span: Callable[[], AbstractContextManager[None]]


BatchHandler = Callable[[Any, list[BatchItem]], None]
"""(the service's unit of work, open on the batch's transaction; the batch's items in order, without the
events already processed). Must not commit; raises BatchEventFailed(position, error) for an event that
fails on its own (InvalidEvent for poison), anything else for a failure of the batch as a whole."""


class _Item(Protocol):
    @property
    def event(self) -> Event: ...

    @property
    def record(self) -> Any: ...


class FallBack(Exception):
    """The batch failed as a whole: roll back and run it through the per-event handler."""


def try_batch(
    unit_of_work: Any,
    handler: BatchHandler,
    pending: Sequence[_Item],
    commit_failed: type[Exception],
    consumed: Callable[[str], Any],
) -> tuple[int, Exception] | None:
    """Runs `handler` over the events of `pending` not processed before (nor earlier in the batch),
    records their ids and commits, in `unit_of_work` (not entered yet). Returns None when committed (each
    event applied counted in `consumed(its topic)`, a Prometheus counter);
    (position in `pending`, error) for a failure pinned to an event, and (0, commit_failed(error)) for a
    failed commit, both rolled back; raises FallBack, rolled back, for any other failure."""
    done: list[str] = []
    with unit_of_work as uow:
        failure = _handle(uow, handler, pending, done)
        if failure is not None:
            return failure
        try:
            uow.commit()
        except Exception as exc:
            return 0, commit_failed(exc)
    for topic in done:
        consumed(topic).inc()
    return None


def _handle(
    uow: Any, handler: BatchHandler, pending: Sequence[_Item], done: list[str]
) -> tuple[int, Exception] | None:
    seen = processed_among(uow.session, {item.event.id for item in pending})
    positions: list[int] = []
    batch: list[BatchItem] = []
    for position, item in enumerate(pending):
        if item.event.id not in seen:  # processed before, or a duplicate earlier in this batch
            seen.add(item.event.id)
            positions.append(position)
            topic = item.record.topic
            span = partial(processing, topic, item.record.headers, item.event.id)
            batch.append(BatchItem(item.event, topic, span))
    if not batch:
        return None
    try:
        handler(uow, batch)
        mark_all_processed(uow.session, [(item.event.id, item.topic) for item in batch])
    except BatchEventFailed as failed:
        return positions[failed.position], failed.cause
    except Exception as exc:
        log.warning("batch of %d events failed as a whole (%s); applying them one by one", len(batch), exc)
        raise FallBack from exc
    done.extend(item.topic for item in batch)
    return None
