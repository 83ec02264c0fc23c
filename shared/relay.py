"""Outbox relay: publishes committed outbox rows to Kafka, in order, and marks them after the ack.

The RPC that wrote an event never talks to the broker; it commits the row and (optionally) wakes the
relay. While the broker is down rows stay unpublished with their attempts and last error, and the relay
keeps retrying with exponential backoff, so nothing is lost. Delivery is at least once: a row can be
sent again after a failure that hid its ack, which the consumers' inbox absorbs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError
from kafka import KafkaProducer
from kafka import errors as kafka_errors
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from shared import metrics
from shared.broker_log import BrokerLostItsLog, LogWatch
from shared.events import Event, InvalidEvent, cloudevents_headers, decode, utcnow
from shared.outbox import OutboxRecord
from shared.tracing import PublishSpans

log = logging.getLogger("integrity.relay")

_MAX_ERROR_LENGTH = 2000
# Short client timeouts: a pass against a dead broker fails within seconds, so stop() stays prompt.
_PRODUCER_TIMEOUTS = {
    "request_timeout_ms": 5000,
    "max_block_ms": 5000,
    "bootstrap_timeout_ms": 3000,
    "delivery_timeout_ms": 10000,
}
_ACK_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class _PassResult:
    published: int
    failed: bool


@dataclass
class _Sent:
    """The outcome of sending a pass's rows: acked (with where), parked (with why), or stopped early."""

    acked: list[int] = field(default_factory=list)
    offsets: list[tuple[str, int, int]] = field(default_factory=list)  # (topic, partition, offset) per ack
    parked: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None
    spans: PublishSpans = field(default_factory=PublishSpans)  # of the rows staged inside a trace

    def failed(self, error: str) -> _Sent:
        self.error = error
        return self


class OutboxRelay:
    """A daemon thread that drains the outbox table of one service's database to Kafka."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        *,
        poll_seconds: float = 0.2,
        max_backoff_seconds: float = 10.0,
        batch_size: int = 500,
        client_id: str = "integrity-relay",
        log_check_seconds: float = 5.0,
        kafka: Mapping[str, Any] | None = None,
        service: str = "",
    ) -> None:
        self.engine = engine
        self.service = service or client_id  # the `service` label of its metrics
        self.bootstrap_servers = bootstrap_servers
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.batch_size = batch_size
        self.client_id = client_id
        self.kafka = dict(kafka or {})  # security options (shared.transport.kafka_options)
        self._producer: KafkaProducer | None = None
        self._watch = LogWatch(engine, bootstrap_servers, client_id, log_check_seconds, self.kafka)
        self._pass_lock = threading.Lock()  # one pass at a time: publish_pending() may race the thread
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"outbox-relay-{self.client_id}", daemon=True)
        self._thread.start()
        log.info("outbox relay started (bootstrap %s)", self.bootstrap_servers)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("outbox relay did not stop within %.1fs; leaving the daemon thread", timeout)
            self._thread = None
        # The thread closes its producer on the way out; this covers publish_pending() without start().
        # Never block here: a pass stuck past the join timeout still holds the lock.
        if self._pass_lock.acquire(blocking=False):
            try:
                self._close_producer()
            finally:
                self._pass_lock.release()
        log.info("outbox relay stopped")

    def wake(self) -> None:
        """Cuts the poll sleep short; call after committing a transaction that added events."""
        self._wake.set()

    def readings(self) -> metrics.ReadingSource:
        """The outbox's backlog, oldest age and parked rows, read when Prometheus scrapes."""
        return metrics.outbox_readings(self.engine, self.service)

    def publish_pending(self) -> int:
        """One synchronous pass; returns how many rows were published (0 when the broker is down)."""
        return self._publish_pass().published

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._pass_lock:
                self._close_producer()

    def _loop(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            result = self._publish_pass()
            if result.failed:
                backoff = min(max(backoff * 2, self.poll_seconds, 0.1), self.max_backoff_seconds)
                log.info("outbox relay retrying in %.1fs", backoff)
                self._stopping.wait(backoff)
                continue
            if backoff:
                log.info("outbox relay recovered")
                backoff = 0.0
            if result.published >= self.batch_size:
                continue  # probably more waiting: no sleep
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _publish_pass(self) -> _PassResult:
        """Never raises: every failure is logged, recorded on the rows where possible, and reported."""
        with self._pass_lock:
            self._watch_the_log()
            try:
                rows = self._pending()
            except Exception:
                log.exception("outbox relay could not read the outbox")
                return _PassResult(0, failed=True)
            if not rows:
                return _PassResult(0, failed=False)
            sent = self._send(rows)
            try:
                self._record(rows, sent)
            except Exception:
                # The acked rows will be sent again next pass (at least once); consumers dedupe.
                log.exception("outbox relay could not record the outcome of %d rows", len(rows))
                metrics.RELAY_FAILED_PASSES.labels(self.service).inc()
                return _PassResult(0, failed=True)
            self._count(rows, sent)
            if sent.acked:
                log.debug("published %d outbox rows", len(sent.acked))
            if sent.error is not None:
                self._watch.check_soon()  # the broker may be restarting: look before publishing again
            return _PassResult(len(sent.acked) + len(sent.parked), failed=sent.error is not None)

    def _count(self, rows: list[OutboxRecord], sent: _Sent) -> None:
        """The pass's metrics and the end of its publish spans."""
        sent.spans.end(sent.acked, dict(sent.parked), sent.error)
        topics = {_id(row): row.topic for row in rows}
        metrics.count_published(self.service, (topics[row_id] for row_id in sent.acked))
        metrics.count_published(self.service, (topics[row_id] for row_id, _ in sent.parked), parked=True)
        if sent.error is not None:
            metrics.RELAY_FAILED_PASSES.labels(self.service).inc()

    def _watch_the_log(self) -> None:
        """Before a pass, when due: if the broker lost what it acknowledged, publish everything again."""
        if not self._watch.due():
            return
        try:
            self._watch.check()
        except BrokerLostItsLog as lost:
            log.warning("outbox relay: the broker lost its log (%s); publishing every event again", lost)
            with Session(self.engine) as session:
                count = mark_all_unpublished(session)
                self._watch.forget(session)
                session.commit()
            log.warning("outbox relay: %d events marked for publishing again", count)
        except Exception as exc:  # unreachable: the pass itself will fail and back off
            log.debug("outbox relay could not check the broker's log: %s", exc)

    def _pending(self) -> list[OutboxRecord]:
        with Session(self.engine) as session:
            statement = (
                select(OutboxRecord)
                .where(col(OutboxRecord.published_at).is_(None), col(OutboxRecord.parked_at).is_(None))
                .order_by(col(OutboxRecord.id))
                .limit(self.batch_size)
            )
            return list(session.exec(statement).all())

    def _send(self, rows: list[OutboxRecord]) -> _Sent:
        """Sends the rows and waits for the acks, in order. A row the broker refuses for good is parked and
        the rest go on; any other failure stops the pass there (later rows wait for the next)."""
        sent = _Sent()
        try:
            producer = self._get_producer()
        except Exception as exc:  # no broker
            return sent.failed(_describe(exc))
        futures: list[tuple[OutboxRecord, Any]] = []
        for row in rows:
            try:
                headers = _headers(row.event_id, row.value)
                headers += sent.spans.start(_id(row), row.topic, row.event_id, row.trace_context)
                future = producer.send(row.topic, value=row.value, key=row.key.encode(), headers=headers)
            except Exception as exc:
                if _refused_for_good(exc):
                    futures.append((row, exc))  # e.g. larger than the producer may send
                    continue
                self._close_producer()  # metadata timeout, buffer full...: stop here, keep order
                break
            futures.append((row, future))
        for row, future in futures:
            try:
                if isinstance(future, Exception):
                    raise future
                metadata = future.get(timeout=_ACK_TIMEOUT_SECONDS)
            except Exception as exc:
                if _refused_for_good(exc):
                    sent.parked.append((_id(row), _describe(exc)))
                    continue
                # Stop here so order holds: later rows are sent again after this one succeeds.
                self._close_producer()
                return sent.failed(_describe(exc))
            sent.acked.append(_id(row))
            sent.offsets.append((metadata.topic, metadata.partition, metadata.offset))
        if len(futures) < len(rows):
            return sent.failed("the producer refused a send; the rest of the pass waits for the next")
        return sent

    def _record(self, rows: list[OutboxRecord], sent: _Sent) -> None:
        done = set(sent.acked) | {row_id for row_id, _ in sent.parked}
        unacked = [_id(row) for row in rows if _id(row) not in done]
        now = utcnow()
        with Session(self.engine) as session:
            if sent.acked:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxRecord)
                    .where(col(OutboxRecord.id).in_(sent.acked))
                    .values(published_at=now, attempts=OutboxRecord.attempts + 1, last_error=None)
                )
            for row_id, error in sent.parked:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxRecord)
                    .where(col(OutboxRecord.id) == row_id)
                    .values(
                        parked_at=now,
                        attempts=OutboxRecord.attempts + 1,
                        last_error=error[:_MAX_ERROR_LENGTH],
                    )
                )
            if sent.error is not None and unacked:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxRecord)
                    .where(col(OutboxRecord.id).in_(unacked))
                    .values(attempts=OutboxRecord.attempts + 1, last_error=sent.error[:_MAX_ERROR_LENGTH])
                )
            self._watch.acknowledge(session, sent.offsets)
            session.commit()
        for row_id, error in sent.parked:
            log.error("outbox relay parked row %d: the broker refuses it for good (%s)", row_id, error)
        if sent.error is not None:
            log.warning(
                "outbox relay: %d of %d rows published, %d waiting; broker %s: %s",
                len(sent.acked),
                len(rows),
                len(unacked),
                self.bootstrap_servers,
                sent.error,
            )

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                **self.kafka,
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                acks="all",
                retries=5,
                # One request in flight per connection: a retried batch cannot overtake a later one,
                # so one enterprise's events (same key, same partition) keep their order.
                max_in_flight_requests_per_connection=1,
                **_PRODUCER_TIMEOUTS,
            )
        return self._producer

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)  # drop what is buffered: it is still in the outbox
            except Exception:
                log.debug("error closing the Kafka producer", exc_info=True)


def _headers(event_id: str, value: bytes) -> list[tuple[str, bytes]]:
    """CloudEvents headers rebuilt from the stored event (the outbox keeps only the value)."""
    try:
        return cloudevents_headers(decode(value))
    except InvalidEvent as exc:
        # Should not happen (add_event wrote it); publish anyway so one bad row cannot block the outbox:
        # the consumers send it to the dead-letter topic.
        log.error("outbox row for event %s holds an invalid event (%s); publishing it as is", event_id, exc)
    try:
        return cloudevents_headers(Event.FromString(value))
    except DecodeError:
        return []


def _id(row: OutboxRecord) -> int:
    assert row.id is not None  # rows read back from the database always have one
    return row.id


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _refused_for_good(exc: BaseException) -> bool:
    """The broker (or the producer, before sending) will never take this record: too large, corrupt."""
    return isinstance(exc, _REFUSED_FOR_GOOD)


_REFUSED_FOR_GOOD = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.CorruptRecordError,
    kafka_errors.InvalidRecordError,
)


def mark_all_unpublished(session: Session) -> int:
    """Every row but the parked ones goes out again (the broker lost what it had); the row count."""
    result = session.exec(  # type: ignore[call-overload]
        update(OutboxRecord).where(col(OutboxRecord.parked_at).is_(None)).values(published_at=None)
    )
    return int(result.rowcount)


def republish_since(engine: Engine, since: datetime) -> int:
    """Marks the rows recorded at or after `since` unpublished, so the relay sends them again.

    Used to rebuild a downstream projection from this service's source of truth. Returns the row count.
    """
    # Timestamps are stored in UTC (SQLite keeps no zone), so compare in UTC.
    since_utc = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    with Session(engine) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(OutboxRecord)
            .where(col(OutboxRecord.recorded_at) >= since_utc)
            .values(published_at=None, last_error=None)
        )
        session.commit()
        count = int(result.rowcount)
    log.info("marked %d outbox rows recorded since %s for republishing", count, since_utc.isoformat())
    return count
