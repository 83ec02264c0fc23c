"""Noticing a broker that lost its log, so an outbox relay can publish everything again.

A memory broker (the local Tansu) forgets every record when it restarts; a topic can be deleted and
re-created. Events the relay had published then exist nowhere but in the outbox, and consumers that had
not read them yet would never see them. The relay remembers, per partition, the highest offset the broker
acknowledged and the id of the cluster that acknowledged it (`OutboxWatermark`). When the cluster id
changes, or a partition's end offset falls below what was acknowledged, the log was lost: every event is
published again, and the idempotent consumers skip the ones they had processed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import OffsetSpec
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from shared.outbox import OutboxWatermark

log = logging.getLogger("integrity.relay")

_ADMIN_TIMEOUTS = {"request_timeout_ms": 5000, "bootstrap_timeout_ms": 3000}


class BrokerLostItsLog(Exception):
    """What the broker holds is less than what it acknowledged to this relay."""


class LogWatch:
    """The relay's memory of what the broker acknowledged, and the check against what it holds now."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        client_id: str,
        every_seconds: float = 5.0,
        kafka: Mapping[str, Any] | None = None,
    ):
        self.engine = engine
        self.kafka = dict(kafka or {})  # security options
        self.bootstrap_servers = bootstrap_servers
        self.client_id = f"{client_id}-log-watch"
        self.every_seconds = every_seconds
        self._cluster_id: str | None = None  # of the broker the last acknowledgements came from
        self._next_check = 0.0  # monotonic time; 0: check before the first pass

    def check_soon(self) -> None:
        """After a failure to reach the broker: it may have restarted, so look before publishing again."""
        self._next_check = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self._next_check

    def acknowledge(self, session: Session, offsets: Iterable[tuple[str, int, int]]) -> None:
        """Records the acknowledged (topic, partition, offset)s in the caller's transaction."""
        highest: dict[tuple[str, int], int] = {}
        for topic, partition, offset in offsets:
            highest[(topic, partition)] = max(offset, highest.get((topic, partition), -1))
        for (topic, partition), offset in highest.items():
            mark = session.get(OutboxWatermark, (topic, partition))
            if mark is None:
                cluster_id = self._cluster_id or ""
                session.add(
                    OutboxWatermark(
                        topic=topic, partition=partition, acked_offset=offset, cluster_id=cluster_id
                    )
                )
            elif offset > mark.acked_offset or mark.cluster_id != (self._cluster_id or mark.cluster_id):
                mark.acked_offset = max(offset, mark.acked_offset)
                mark.cluster_id = self._cluster_id or mark.cluster_id
                session.add(mark)

    def check(self) -> None:
        """Raises BrokerLostItsLog when the broker holds less than it acknowledged; other errors (the broker
        is unreachable) propagate, and the relay's own pass will fail and back off."""
        self._next_check = time.monotonic() + self.every_seconds
        with Session(self.engine) as session:
            marks = list(session.exec(select(OutboxWatermark)))
        admin = KafkaAdminClient(
            **self.kafka,
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            **_ADMIN_TIMEOUTS,
        )
        try:
            cluster_id = str(admin.describe_cluster().get("cluster_id") or "")
            self._cluster_id = cluster_id
            if not marks:
                return
            changed = {mark.cluster_id for mark in marks if mark.cluster_id and mark.cluster_id != cluster_id}
            if changed:
                raise BrokerLostItsLog(f"the broker's cluster id is {cluster_id!r}, not {changed.pop()!r}")
            ends = admin.list_partition_offsets(
                {TopicPartition(mark.topic, mark.partition): OffsetSpec.LATEST for mark in marks}
            )
        except BrokerLostItsLog:
            raise
        except Exception as exc:
            # An unknown topic or partition is a log lost as well (deleted, or not re-created yet).
            if "UnknownTopicOrPartition" in type(exc).__name__:
                raise BrokerLostItsLog(f"a partition it acknowledged is gone ({exc})") from exc
            raise
        finally:
            admin.close()
        for mark in marks:
            end = ends[TopicPartition(mark.topic, mark.partition)].offset
            # Tansu answers the latest offset with the last *batch's* base offset + 1 (docs/tansu.md), so a
            # low answer is confirmed by reading the acknowledged record itself before anything is resent.
            if end <= mark.acked_offset and not self._holds(mark):
                raise BrokerLostItsLog(
                    f"{mark.topic}[{mark.partition}] no longer holds offset {mark.acked_offset}, which it "
                    "acknowledged"
                )

    def _holds(self, mark: OutboxWatermark) -> bool:
        """Whether the broker still serves the record at the acknowledged offset."""
        partition = TopicPartition(mark.topic, mark.partition)
        consumer = KafkaConsumer(
            **self.kafka,
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="none",  # an offset the log no longer has raises instead of moving
            **_ADMIN_TIMEOUTS,
        )
        try:
            consumer.assign([partition])
            consumer.seek(partition, mark.acked_offset)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                for record in consumer.poll(timeout_ms=500).get(partition, []):
                    if record.offset >= mark.acked_offset:
                        return True
            return False
        except kafka_errors.OffsetOutOfRangeError:
            return False
        finally:
            consumer.close()

    def forget(self, session: Session) -> None:
        """After the relay marked everything for publishing again: nothing is acknowledged any more."""
        session.exec(delete(OutboxWatermark))  # type: ignore[call-overload]
