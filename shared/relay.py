"""Outbox relay: publishes committed outbox rows to Kafka, in order, and marks them after the ack.

The RPC that wrote an event never talks to the broker; it commits the row and (optionally) wakes the
relay. While the broker is down rows stay unpublished with their attempts and last error, and the relay
keeps retrying with exponential backoff, so nothing is lost. Delivery is at least once: a row can be
sent again after a failure that hid its ack, which the consumers' inbox absorbs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from kafka import KafkaProducer
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from shared.events import Event, InvalidEvent, cloudevents_headers, decode, utcnow
from shared.outbox import OutboxRecord

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
    ) -> None:
        self.engine = engine
        self.bootstrap_servers = bootstrap_servers
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.batch_size = batch_size
        self.client_id = client_id
        self._producer: KafkaProducer | None = None
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
            try:
                rows = self._pending()
            except Exception:
                log.exception("outbox relay could not read the outbox")
                return _PassResult(0, failed=True)
            if not rows:
                return _PassResult(0, failed=False)
            acked, error = self._send(rows)
            try:
                self._record(rows, acked, error)
            except Exception:
                # The acked rows will be sent again next pass (at least once); consumers dedupe.
                log.exception("outbox relay could not record the outcome of %d rows", len(rows))
                return _PassResult(0, failed=True)
            if acked:
                log.debug("published %d outbox rows", len(acked))
            return _PassResult(len(acked), failed=error is not None)

    def _pending(self) -> list[OutboxRecord]:
        with Session(self.engine) as session:
            statement = (
                select(OutboxRecord)
                .where(col(OutboxRecord.published_at).is_(None))
                .order_by(col(OutboxRecord.id))
                .limit(self.batch_size)
            )
            return list(session.exec(statement).all())

    def _send(self, rows: list[OutboxRecord]) -> tuple[list[int], str | None]:
        """Sends the rows and waits for the acks. Returns the ids acked before the first failure."""
        try:
            producer = self._get_producer()
            futures = [
                producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key.encode(),
                    headers=_headers(row.event_id, row.value),
                )
                for row in rows
            ]
        except Exception as exc:  # no broker, metadata timeout, buffer full...
            self._close_producer()
            return [], _describe(exc)
        acked: list[int] = []
        for row, future in zip(rows, futures, strict=True):
            try:
                future.get(timeout=_ACK_TIMEOUT_SECONDS)
            except Exception as exc:
                # Stop here so order holds: later rows are sent again after this one succeeds.
                self._close_producer()
                return acked, _describe(exc)
            acked.append(_id(row))
        return acked, None

    def _record(self, rows: list[OutboxRecord], acked: list[int], error: str | None) -> None:
        acked_ids = set(acked)
        unacked = [_id(row) for row in rows if _id(row) not in acked_ids]
        with Session(self.engine) as session:
            if acked:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxRecord)
                    .where(col(OutboxRecord.id).in_(acked))
                    .values(published_at=utcnow(), attempts=OutboxRecord.attempts + 1, last_error=None)
                )
            if error is not None and unacked:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxRecord)
                    .where(col(OutboxRecord.id).in_(unacked))
                    .values(attempts=OutboxRecord.attempts + 1, last_error=error[:_MAX_ERROR_LENGTH])
                )
            session.commit()
        if error is not None:
            log.warning(
                "outbox relay: %d of %d rows published, %d waiting; broker %s: %s",
                len(acked),
                len(rows),
                len(unacked),
                self.bootstrap_servers,
                error,
            )

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
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
