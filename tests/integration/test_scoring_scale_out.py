"""Scale-out: two and three scoring consumers in one group on a six-partition topic share the load, live
through rebalances mid-stream (a member joins, another leaves) and leave the grades one consumer leaves.

Real Tansu broker, real databases (SQLite, and PostgreSQL when configured).
The stream comes in waves, one event per enterprise each, keyed by USCC like the services publish; a wave
is produced once the group has processed the ones before it, so the joins and leaves land mid-stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine, text

from operations.broker import LocalBroker, ensure_topics
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.events import Event, to_record
from tests.helpers import wait_until
from tests.unit.scoring.fakes import OUTCOMES, complaint_filed, inspection, registration, uscc

PARTITIONS = 6
ENTERPRISES = 36
T0 = datetime(2024, 1, 1, tzinfo=UTC)
POLICY = load_policy()


def waves() -> list[list[Event]]:
    """Wave 0 registers every enterprise; each later wave brings one more event per enterprise (an
    inspection or a complaint, some late: dated before the enterprise's newest event)."""
    found = [[registration(uscc(serial), occurred_at=T0) for serial in range(ENTERPRISES)]]
    for wave in range(1, 10):
        events = []
        for serial in range(ENTERPRISES):
            code = uscc(serial)
            days = 20 * wave + serial % 9 if (wave + serial) % 4 else 5  # every fourth one is late
            if (wave * serial) % 7 == 3:
                events.append(complaint_filed(code, T0 + timedelta(days=days)))
            else:
                events.append(inspection(code, T0 + timedelta(days=days), OUTCOMES[(wave + serial) % 4]))
        found.append(events)
    return found


class CountingHandler:
    """The scoring handler, counting the events each member was handed."""

    def __init__(self) -> None:
        self.handler = ScoringEventHandler(POLICY)
        self.events = 0

    def __call__(self, uow: Any, event: Event, topic: str) -> None:
        self.handler(uow, event, topic)
        self.events += 1

    def handle_batch(self, uow: Any, batch: list[tuple[Event, str]]) -> None:
        self.handler.handle_batch(uow, batch)
        self.events += len(batch)


class Member:
    def __init__(self, engine: Engine, broker: LocalBroker, group: str, topic: str, name: str) -> None:
        self.handler = CountingHandler()
        self.consumer = EventConsumer(
            engine, broker.bootstrap, group, [topic], self.handler,
            unit_of_work=partial(ScoringUnitOfWork, engine), client_id=name,
            batch_handler=self.handler.handle_batch,
        )  # fmt: skip
        self.consumer.start()

    def assigned(self) -> bool:
        """Has partitions in the group (a read of the client's assignment from the test thread)."""
        client = self.consumer._consumer
        return client is not None and bool(client.assignment())

    def stop(self) -> None:
        self.consumer.stop(timeout=15)


def all_assigned(members: list[Member]) -> bool:
    return all(member.assigned() for member in members)


def caught_up(engine: Engine, produced: int) -> bool:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM processed_events")).scalar_one()) >= produced


def publish(producer: KafkaProducer, topic: str, events: list[Event]) -> None:
    for event in events:
        record = to_record(topic, event)
        producer.send(topic, key=record.key, value=record.value, headers=record.headers)
    producer.flush(timeout=30)


def scoring_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every scoring table as a reader sees it: current grades (without when the row was written), each
    enterprise's grade history in the order recorded (without row ids and write times), the history with
    its levels, the projection, and the GradeChanged events staged."""
    queries = {
        "grades": "SELECT uscc, level, score, provisional, reasons, as_of, violation_probability, "
        "model_version, policy_version, feature_version FROM scoring_grades ORDER BY uscc",
        "grade_history": "SELECT uscc, level, previous_level, score, provisional, reasons, as_of, "
        "cause_event_id FROM scoring_grade_history ORDER BY uscc, id",
        "events": "SELECT event_id, uscc, type, occurred_at, level_after FROM scoring_events "
        "ORDER BY event_id",
        "projection": "SELECT * FROM scoring_enterprise_projection ORDER BY uscc",
        "outbox": "SELECT event_id, key, event_type, occurred_at FROM outbox ORDER BY event_id",
        "processed": "SELECT event_id FROM processed_events ORDER BY event_id",
    }
    with engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(text(sql))] for name, sql in queries.items()}


@pytest.fixture
def producer(broker: LocalBroker) -> Iterator[KafkaProducer]:
    client = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    yield client
    client.close()


def fresh(url: str) -> Engine:
    engine = make_engine(url)
    create_tables(engine, TABLES)
    return engine


@pytest.mark.parametrize("members", [2, 3])
def test_n_consumers_in_one_group_grade_as_one_consumer_through_rebalances(
    members: int, broker: LocalBroker, producer: KafkaProducer, service_database_urls: dict[str, str]
) -> None:
    topic = f"integrity.test.scale.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, [topic], partitions=PARTITIONS)
    stream = waves()
    # Two empty databases on the same backend: the group's, and the one consumer's.
    group_engine = fresh(service_database_urls["scoring"])
    group = f"scoring-scale-{uuid.uuid4().hex[:6]}"
    running = [Member(group_engine, broker, group, topic, "member-0")]
    everyone = list(running)
    produced = 0
    try:
        for number, wave in enumerate(stream):
            if number == 2:  # the others join mid-stream: the group rebalances
                joined = [
                    Member(group_engine, broker, group, topic, f"member-{k}") for k in range(1, members)
                ]
                running += joined
                everyone += joined
                wait_until(partial(all_assigned, list(running)), timeout=60, message="no rebalance")
            if number == 6:  # the first leaves mid-stream: its partitions move to the others
                running[0].stop()
                running = running[1:]
            publish(producer, topic, wave)
            produced += len(wave)
            wait_until(partial(caught_up, group_engine, produced), timeout=90, message=f"wave {number}")
        handled = [member.handler.events for member in everyone]
    finally:
        for member in running:
            member.stop()

    reference_engine = fresh(service_database_urls["enterprises"])
    alone = Member(reference_engine, broker, f"scoring-one-{uuid.uuid4().hex[:6]}", topic, "alone")
    try:
        wait_until(partial(caught_up, reference_engine, produced), timeout=90, message="one consumer")
    finally:
        alone.stop()

    assert all(count > 0 for count in handled), f"every member took part: {handled}"
    assert produced == ENTERPRISES * len(stream)
    together, one = scoring_state(group_engine), scoring_state(reference_engine)
    assert len(one["grades"]) == ENTERPRISES and len(one["processed"]) == produced
    for table in one:
        assert together[table] == one[table], table
    group_engine.dispose()
    reference_engine.dispose()
