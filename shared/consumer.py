"""Idempotent event consumer: inbox in the same transaction as the state change, offsets committed after.

Per record: decode; skip ids already in the inbox; otherwise run the handler, record the id and commit the
database transaction; the Kafka offset is committed afterwards (once per poll batch), so a crash between
the two only causes a redelivery that the inbox turns into a no-op. Replaying a topic from the start
changes nothing.

Poison records (InvalidEvent from decoding or from the handler) go to `<topic>.dlt` with the error in a
header, and consumption goes on. Any other failure is treated as transient: rollback, back off, and retry
the same record; a record is never skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError as DuplicateKeyError
from sqlmodel import Session

from shared.db import UnitOfWork
from shared.events import Event, InvalidEvent, decode
from shared.inbox import already_processed, mark_processed
from shared.topics import dead_letter

log = logging.getLogger("integrity.consumer")

EventHandler = Callable[[Session, Event, str], None]
"""(session in an open transaction, event, topic). Must not commit; raise InvalidEvent for poison."""

_INITIAL_BACKOFF_SECONDS = 0.2
_DLT_ACK_TIMEOUT_SECONDS = 15.0


class EventConsumer:
    """A daemon thread consuming `topics` as member of `group_id`, one record at a time."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        group_id: str,
        topics: list[str],
        handler: EventHandler,
        *,
        client_id: str | None = None,
        poll_timeout_ms: int = 500,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.topics = list(topics)
        self.handler = handler
        self.client_id = client_id or f"{group_id}-consumer"
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff_seconds = max_backoff_seconds
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
        to_commit: dict[TopicPartition, OffsetAndMetadata] = {}
        failed = False
        for partition, records in batches.items():
            for record in records:
                if self._stopping.is_set():
                    break
                if not self._handle(record):
                    # Transient failure: come back to this very record after the pause.
                    consumer.seek(partition, record.offset)
                    failed = True
                    break
                to_commit[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
        if to_commit:
            self._commit(consumer, to_commit)
        if failed:
            self._pause()
        else:
            self._backoff = 0.0

    def _connect(self) -> KafkaConsumer | None:
        try:
            self._consumer = KafkaConsumer(
                *self.topics,
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

    def _handle(self, record: ConsumerRecord) -> bool:
        """Processes one record; True when it is done with (processed, skipped or dead-lettered)."""
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        try:
            event = decode(record.value)
            if self._apply(event, record.topic):
                log.debug("processed event %s (%s) from %s", event.id, event.type, where)
            return True
        except InvalidEvent as exc:
            return self._dead_letter(record, str(exc))
        except Exception:
            log.exception("consumer %s failed on %s; will retry", self.group_id, where)
            return False

    def _apply(self, event: Event, topic: str) -> bool:
        """Runs the handler and records the id in one transaction; False when already processed."""
        with UnitOfWork(self.engine) as uow:
            if already_processed(uow.session, event.id):
                return False
            try:
                self.handler(uow.session, event, topic)
                mark_processed(uow.session, event.id, topic)
                uow.commit()
            except DuplicateKeyError:
                # Another member (e.g. during a rebalance) may have processed the same event meanwhile.
                uow.rollback()
                if self._processed_elsewhere(event.id):
                    log.info("event %s was processed concurrently by another consumer", event.id)
                    return False
                raise
        return True

    def _processed_elsewhere(self, event_id: str) -> bool:
        with Session(self.engine) as session:
            return already_processed(session, event_id)

    def _dead_letter(self, record: ConsumerRecord, error: str) -> bool:
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


def _quietly(close: Callable[..., Any], **kwargs: Any) -> None:
    try:
        close(**kwargs)
    except Exception:
        log.debug("error closing a Kafka client", exc_info=True)
