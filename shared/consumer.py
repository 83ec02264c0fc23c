"""Idempotent event consumer: inbox in the same transaction as the state change, offsets committed after.

Per poll batch: decode every record; skip ids already in the inbox (one query) and repeats within the
batch; run the handler for each other event, record the ids and commit ONE database transaction; the Kafka
offsets are committed afterwards, so a crash between the two only causes a redelivery that the inbox turns
into a no-op. Replaying a topic from the start changes nothing.

Poison goes to `<topic>.dlt` with the error in a header, and consumption goes on: the transaction is
rolled back and retried without the poison, so it never takes the others down with it. Poison is any error
that will recur on the same bytes: a record that does not decode or validate, and anything the handler
raises that is not an error of the database or the broker. Only those (`is_transient`) are retried: rollback,
commit what came before the failing record, back off, and retry from that record; a record is never
skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy.exc
from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError as DuplicateKeyError
from sqlmodel import Session

from shared import metrics
from shared.consumer_batch import BatchHandler, FallBack, try_batch
from shared.db import UnitOfWork
from shared.events import Event, InvalidEvent, decode
from shared.inbox import already_processed, mark_processed, processed_among
from shared.topics import dead_letter
from shared.tracing import processing

log = logging.getLogger("integrity.consumer")

EventHandler = Callable[[Any, Event, str], None]
"""(the service's unit of work, open on the batch's transaction; event; topic). Must not commit; raise
InvalidEvent for poison."""

_INITIAL_BACKOFF_SECONDS = 0.2
_DLT_ACK_TIMEOUT_SECONDS = 15.0


class EventConsumer:
    """A daemon thread consuming `topics` as member of `group_id`, one poll batch per transaction."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        group_id: str,
        topics: list[str],
        handler: EventHandler,
        *,
        unit_of_work: Callable[[], UnitOfWork] | None = None,
        client_id: str | None = None,
        poll_timeout_ms: int = 500,
        max_backoff_seconds: float = 10.0,
        kafka: Mapping[str, Any] | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.engine = engine
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.topics = list(topics)
        self.handler = handler
        self.batch_handler = batch_handler  # takes batches whole, `handler` its fallback: consumer_batch.py
        # The unit of work the handler receives (the service's own); the inbox shares its transaction.
        self.unit_of_work = unit_of_work or (lambda: UnitOfWork(engine))
        self.client_id = client_id or f"{group_id}-consumer"
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff_seconds = max_backoff_seconds
        self.kafka = dict(kafka or {})  # security options (shared.transport.kafka_options)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Both clients are created and used only by the consumer thread (kafka clients are not thread-safe).
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._backoff = 0.0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.client_id}", daemon=True)
        self._thread.start()
        log.info(
            "consumer %s started for %s (bootstrap %s)", self.group_id, self.topics, self.bootstrap_servers
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("consumer %s did not stop within %.1fs", self.group_id, timeout)
            self._thread = None

    # --- the consumer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._step()
                except Exception:
                    # Broker gone, rebalance trouble...: start over with fresh clients after a pause.
                    log.exception("consumer %s failed; reconnecting", self.group_id)
                    self._close_clients()
                    self._pause()
        finally:
            self._close_clients()
            log.info("consumer %s stopped", self.group_id)

    def _step(self) -> None:
        consumer = self._consumer or self._connect()
        if consumer is None:
            return
        batches = consumer.poll(timeout_ms=self.poll_timeout_ms)
        # Partition by partition, in offset order: the batch keeps each partition's order.
        records = [record for partition_records in batches.values() for record in partition_records]
        if not records or self._stopping.is_set():
            return
        started = time.perf_counter()
        stop = self._process(records)
        metrics.CONSUMER_BATCH_SECONDS.labels(self.group_id).observe(time.perf_counter() - started)
        done, undone = records[:stop], records[stop:]
        if done:
            self._commit(consumer, _next_offsets(done))
            metrics.observe_lag(self.group_id, consumer)
        if undone:
            # Transient failure: come back to the first record not done with, in every partition.
            for partition, offset in _first_offsets(undone).items():
                consumer.seek(partition, offset)
            self._pause()
        else:
            self._backoff = 0.0

    def _connect(self) -> KafkaConsumer | None:
        try:
            self._consumer = KafkaConsumer(
                *self.topics,
                **self.kafka,
                bootstrap_servers=self.bootstrap_servers,
                group_id=self.group_id,
                client_id=self.client_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
                max_poll_interval_ms=60000,
                max_poll_records=200,  # a batch is handled well within max_poll_interval_ms
                bootstrap_timeout_ms=3000,
            )
        except Exception as exc:
            log.warning("consumer %s cannot reach %s: %s", self.group_id, self.bootstrap_servers, exc)
            self._pause()
            return None
        log.info("consumer %s connected to %s", self.group_id, self.bootstrap_servers)
        return self._consumer

    def _commit(self, consumer: KafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        try:
            consumer.commit(offsets)
        except Exception as exc:
            # The database already has the effects; the records will be redelivered and skipped.
            log.warning("consumer %s could not commit offsets %s: %s", self.group_id, offsets, exc)

    # --- a poll batch in one transaction ---------------------------------------------------------------

    def _process(self, records: list[ConsumerRecord]) -> int:
        """Handles a poll batch; returns how many leading records are done with (processed, skipped or
        dead-lettered). The rest failed transiently and must be read again.

        Poison found by decoding is dead-lettered first, then the valid records are applied in ONE
        database transaction (one commit per batch instead of per record is what makes ingest fast)."""
        pending: list[_Pending] = []
        for index, record in enumerate(records):
            try:
                pending.append(_Pending(index, record, decode(record.value)))
            except InvalidEvent as exc:
                if not self._dead_letter(record, str(exc), "undecodable"):
                    # Keep the records before it; a later retry may dead-letter some twice (at least once).
                    return _first_of(self._apply_valid(pending), index)
        return _first_of(self._apply_valid(pending), len(records))

    def _apply_valid(self, pending: list[_Pending]) -> int | None:
        """Applies decoded records in one transaction. A record the handler rejects (InvalidEvent) or that
        another consumer processed meanwhile is taken out and the rest retried together, so it never rolls
        back the others. Returns the batch index of a record that failed transiently (everything before it
        is applied), None when all are done with."""
        pending = list(pending)
        while pending:
            failure = self._try_transaction(pending)
            if failure is None:
                return None
            position, error = failure
            failed = pending[position]
            if isinstance(error, DuplicateKeyError) and self._processed_elsewhere(failed.event.id):
                log.info("event %s was processed concurrently by another consumer", failed.event.id)
                del pending[position]
                continue
            poison = not is_transient(error)
            if poison and self._dead_letter(failed.record, describe(error), _reason(error)):
                del pending[position]
                continue
            if not poison:
                log.error(
                    "consumer %s failed on %s; will retry",
                    self.group_id,
                    _where(failed.record),
                    exc_info=error,
                )
            # Isolate the failing record: keep what came before it, retry it after a pause.
            earlier_failure = self._apply_valid(pending[:position])
            return failed.index if earlier_failure is None else earlier_failure
        return None

    def _try_transaction(self, pending: list[_Pending]) -> tuple[int, Exception] | None:
        """Runs the handler for every record not yet processed and commits once; on failure rolls back
        everything and returns (position in `pending` of the record that failed, the error). A failed
        commit is tied to no record: it comes back as a _CommitFailed at position 0, always retried."""
        if self.batch_handler is not None:
            consumed = partial(metrics.CONSUMED.labels, self.group_id)  # the counter of a topic's events
            with suppress(FallBack):  # rolled back: the per-event handler pins the failure to its record
                return try_batch(self.unit_of_work(), self.batch_handler, pending, _CommitFailed, consumed)
        applied: list[str] = []  # the topic of each event applied, counted once the commit succeeds
        with self.unit_of_work() as uow:
            seen = processed_among(uow.session, {p.event.id for p in pending})
            for position, item in enumerate(pending):
                if item.event.id in seen:
                    continue  # processed before, or a duplicate earlier in this batch
                try:
                    with processing(item.record.topic, item.record.headers, item.event.id):
                        self.handler(uow, item.event, item.record.topic)
                    # Flushes the handler's writes, and raises on an id a concurrent consumer recorded
                    # meanwhile: the duplicate is pinned to its own record.
                    mark_processed(uow.session, item.event.id, item.record.topic)
                except Exception as exc:
                    return position, exc
                seen.add(item.event.id)
                applied.append(item.record.topic)
                log.debug(
                    "processed event %s (%s) from %s", item.event.id, item.event.type, _where(item.record)
                )
            try:
                uow.commit()
            except Exception as exc:
                return 0, _CommitFailed(exc)  # retry the whole batch after a pause
        for topic in applied:
            metrics.CONSUMED.labels(self.group_id, topic).inc()
        return None

    def _processed_elsewhere(self, event_id: str) -> bool:
        with Session(self.engine) as session:
            return already_processed(session, event_id)

    def _dead_letter(self, record: ConsumerRecord, error: str, reason: str = "rejected") -> bool:
        target = dead_letter(record.topic)
        headers = [
            *(record.headers or []),
            ("error", error.encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
        ]
        try:
            producer = self._producer or self._make_producer()
            producer.send(target, value=record.value, key=record.key, headers=headers).get(
                timeout=_DLT_ACK_TIMEOUT_SECONDS
            )
        except Exception:
            log.exception("could not dead-letter %s[%d]@%d", record.topic, record.partition, record.offset)
            self._close_producer()
            return False
        metrics.DEAD_LETTERS.labels(self.group_id, record.topic, reason).inc()
        log.warning(
            "invalid record %s[%d]@%d sent to %s: %s",
            record.topic,
            record.partition,
            record.offset,
            target,
            error,
        )
        return True

    def _make_producer(self) -> KafkaProducer:
        self._producer = KafkaProducer(
            **self.kafka,
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"{self.client_id}-dlt",
            acks="all",
            request_timeout_ms=5000,
            max_block_ms=5000,
            bootstrap_timeout_ms=3000,
            delivery_timeout_ms=10000,
        )
        return self._producer

    def _pause(self) -> None:
        self._backoff = min(max(self._backoff * 2, _INITIAL_BACKOFF_SECONDS), self.max_backoff_seconds)
        self._stopping.wait(self._backoff)

    def _close_clients(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            _quietly(consumer.close, autocommit=False)
        self._close_producer()

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            _quietly(producer.close, timeout=1)


# Errors of the database or the broker (and the network between): the same event may well go through
# later. Anything else a handler raises would fail again on the same bytes.
_TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    KafkaError,
    OSError,  # ConnectionError, TimeoutError and friends
)
_REASON_MAX = 1000


class _CommitFailed(Exception):
    """The batch's commit failed: no one record is to blame, so the batch is retried whole."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"commit failed: {cause}")
        self.__cause__ = cause


def is_transient(error: BaseException) -> bool:
    """True for failures worth retrying on the same event; False for poison (dead-lettered)."""
    return isinstance(error, (*_TRANSIENT, _CommitFailed)) and not isinstance(error, InvalidEvent)


def describe(error: BaseException) -> str:
    """The dead-letter reason: what the handler said (InvalidEvent) or the error's type and message."""
    text = str(error) if isinstance(error, InvalidEvent) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())[:_REASON_MAX]


@dataclass(frozen=True)
class _Pending:
    """A decoded record waiting to be applied, with its position in the poll batch."""

    index: int
    record: ConsumerRecord
    event: Event


def _reason(error: BaseException) -> str:
    """The dead-letter reason as a metric label: few values, never the message."""
    return "rejected" if isinstance(error, InvalidEvent) else type(error).__name__


def _first_of(failure: int | None, otherwise: int) -> int:
    return otherwise if failure is None else min(failure, otherwise)


def _where(record: ConsumerRecord) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


def _next_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets to commit once `records` are done with: after the last one of each partition."""
    offsets: dict[TopicPartition, OffsetAndMetadata] = {}
    for record in records:
        offsets[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(record.offset + 1, "", -1)
    return offsets


def _first_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, int]:
    """Where to resume each partition: its first record in `records`."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        offsets.setdefault(TopicPartition(record.topic, record.partition), record.offset)
    return offsets


def _quietly(close: Callable[..., Any], **kwargs: Any) -> None:
    try:
        close(**kwargs)
    except Exception:
        log.debug("error closing a Kafka client", exc_info=True)
