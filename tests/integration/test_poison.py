"""Poison on every topic each consumer reads, against a real broker: every record that would fail again on
the same bytes goes to the topic's dead-letter topic with the reason, and the events behind it (same key,
same partition) and on the other topics are processed. Events a newer producer made, with enum numbers
this code does not know, are not poison: they are processed and recorded as unknown. The group's metrics
(dead letters by topic, events applied, lag) say the same.

Each consumer (scoring's and inspections') runs its real handler and unit of work on its own copies of
the topics it reads, so the session broker's shared topics stay untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlmodel import Session, select

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from services.complaints.adapters.tables import TABLES as COMPLAINT_TABLES
from services.complaints.adapters.tables import RegistryCopyRow
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.entrypoints.consumer import handle_event as handle_complaints_event
from services.inspections.adapters.tables import TABLES as INSPECTION_TABLES
from services.inspections.adapters.tables import EnterpriseCopyRow
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.entrypoints.consumer import handle_event
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES as SCORING_TABLES
from services.scoring.adapters.tables import EnterpriseProjection, GradeRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.events import Event, new_event, utcnow
from shared.inbox import ProcessedEvent
from shared.topics import dead_letter
from tests.helpers import enterprise_registered, valid_uscc, wait_until
from tests.integration.kafka_reading import read_topic
from tests.unit.scoring.fakes import complaint_resolved, inspection

pytestmark = pytest.mark.integration

ENTERPRISES, COMPLAINTS, INSPECTIONS, SCORING = (
    catalogue.ENTERPRISES.publishes,
    catalogue.COMPLAINTS.publishes,
    catalogue.INSPECTIONS.publishes,
    catalogue.SCORING.publishes,
)


@dataclass
class Feed:
    """What goes on one topic: (key, value) records in order, the poison among them, the valid event ids."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    poison: int = 0
    valid: list[str] = field(default_factory=list)

    def event(self, event: Event) -> None:
        self.records.append((event.subject.encode(), event.SerializeToString()))
        self.valid.append(event.id)

    def bad(self, key: bytes, value: bytes) -> None:
        self.records.append((key, value))
        self.poison += 1


def _envelope_poison(feed: Feed, uscc: str) -> None:
    """Records no consumer can read, whatever the topic: the same key as the valid events around them."""
    key = uscc.encode()
    feed.bad(key, b"")
    feed.bad(key, b"\x08\x96\x01 not an event at all \xff\xfe")
    nameless = enterprise_registered(uscc)
    nameless.id = ""
    feed.bad(key, nameless.SerializeToString())
    mismatched = enterprise_registered(uscc)
    mismatched.type = "integrity.events.v1.GradeChanged"
    feed.bad(key, mismatched.SerializeToString())
    far_future = enterprise_registered(uscc)
    far_future.occurred_at.seconds = 10**15  # out of the Timestamp range: no datetime holds it
    feed.bad(key, far_future.SerializeToString())
    anyone = enterprise_registered(uscc)
    anyone.subject = "not-a-uscc"
    feed.bad(b"not-a-uscc", anyone.SerializeToString())


def _registration(uscc: str, subject_type: int = 1, size_class: int = 0, status: int = 0) -> Event:
    event = enterprise_registered(uscc, region="610112")
    enterprise = event.enterprise_registered.enterprise
    enterprise.subject_type, enterprise.size_class, enterprise.status = subject_type, size_class, status  # type: ignore[assignment]
    return event


def enterprises_feed(codes: list[str]) -> Feed:
    feed = Feed()
    feed.event(_registration(codes[0]))
    _envelope_poison(feed, codes[0])
    wrong = _registration(codes[0])
    wrong.enterprise_registered.enterprise.uscc = valid_uscc(999_999)  # payload about another enterprise
    feed.bad(codes[0].encode(), wrong.SerializeToString())
    # A newer registry: a subject type, size class and status these protos lack.
    feed.event(_registration(codes[1], subject_type=99, size_class=42, status=9))
    feed.event(_registration(codes[2]))
    return feed


def complaints_feed(codes: list[str]) -> Feed:
    feed = Feed()
    _envelope_poison(feed, codes[0])
    resolved = complaint_resolved(codes[0], utcnow(), f"complaints/{uuid.uuid4().hex[:12]}", True)
    resolved.complaint_resolved.category, resolved.complaint_resolved.severity = 99, 9  # type: ignore[assignment]
    feed.event(resolved)
    return feed


def inspections_feed(codes: list[str]) -> Feed:
    feed = Feed()
    _envelope_poison(feed, codes[2])
    feed.event(inspection(codes[2], utcnow(), outcome=9))  # an outcome this code does not know
    feed.event(inspection(codes[2], utcnow()))
    return feed


def scoring_feed(codes: list[str]) -> Feed:
    feed = Feed()
    _envelope_poison(feed, codes[0])
    newer = events_pb2.GradeChanged(grade=scoring_pb2.Grade(level=9), region_code="610112")  # type: ignore[arg-type]
    feed.event(new_event("//integrity/scoring", codes[0], newer))
    known = events_pb2.GradeChanged(
        grade=scoring_pb2.Grade(level=scoring_pb2.GRADE_LEVEL_D), region_code="610112"
    )
    feed.event(new_event("//integrity/scoring", codes[2], known))
    return feed


FEEDS: dict[str, Callable[[list[str]], Feed]] = {
    ENTERPRISES: enterprises_feed,
    COMPLAINTS: complaints_feed,
    INSPECTIONS: inspections_feed,
    SCORING: scoring_feed,
}


@dataclass(frozen=True)
class Consumer:
    name: str
    tables: list[Any]
    handler: Callable[[], Any]
    unit_of_work: Callable[[Engine], Any]
    reads: tuple[str, ...]


CONSUMERS = [
    Consumer(
        "scoring",
        SCORING_TABLES,
        lambda: ScoringEventHandler(load_policy()),
        lambda engine: partial(ScoringUnitOfWork, engine),
        catalogue.SCORING.consumes,
    ),
    Consumer(
        "complaints",
        COMPLAINT_TABLES,
        lambda: handle_complaints_event,
        lambda engine: partial(ComplaintsUnitOfWork, engine),
        catalogue.COMPLAINTS.consumes,
    ),
    Consumer(
        "inspections",
        INSPECTION_TABLES,
        lambda: handle_event,
        lambda engine: partial(InspectionsUnitOfWork, engine),
        catalogue.INSPECTIONS.consumes,
    ),
]


@pytest.fixture
def producer(broker: LocalBroker) -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    yield producer
    producer.close()


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_poison_on_every_topic_is_dead_lettered_and_everything_else_processed(
    broker: LocalBroker, producer: KafkaProducer, database_url: str, consumer: Consumer
) -> None:
    engine = make_engine(database_url)
    create_tables(engine, consumer.tables)
    suffix = uuid.uuid4().hex[:8]
    topics = {real: f"{real}.poison-{suffix}" for real in consumer.reads}  # its own copy of each
    ensure_topics(broker.bootstrap, list(topics.values()), partitions=2)
    codes = [valid_uscc(7000 + n, "610112") for n in range(3)]
    feeds = {real: FEEDS[real](codes) for real in consumer.reads}
    for real, feed in feeds.items():
        for key, value in feed.records:
            producer.send(topics[real], key=key, value=value).get(timeout=10)
    running = EventConsumer(
        engine,
        broker.bootstrap,
        f"poison-{consumer.name}-{suffix}",
        list(topics.values()),
        consumer.handler(),
        unit_of_work=consumer.unit_of_work(engine),
        max_backoff_seconds=1,
    )
    running.start()
    try:
        valid = {event_id for feed in feeds.values() for event_id in feed.valid}
        wait_until(
            lambda: valid <= processed(engine),
            timeout=90,
            message=f"unprocessed: {valid - processed(engine)}",
        )
        for real, feed in feeds.items():
            dead = read_topic(broker.bootstrap, dead_letter(topics[real]), at_least=feed.poison, timeout=30)
            assert len(dead) == feed.poison, real
            reasons = [dict(record.headers).get("error", b"").decode() for record in dead]
            assert all(reasons), reasons
        _metrics_tell_it(running.group_id, topics, feeds)
    finally:
        running.stop()
    assert processed(engine) == valid  # nothing else slipped in: the poison never reached a handler
    _unknown_values_were_recorded(consumer.name, engine, codes)
    engine.dispose()


def _metrics_tell_it(group: str, topics: dict[str, str], feeds: dict[str, Feed]) -> None:
    """The group's dead letters and applied events per topic, as Prometheus reads them; its lag goes to 0."""
    for real, feed in feeds.items():
        where = {"group": group, "topic": topics[real]}
        assert _sample("integrity_dead_letters_total", **where) == feed.poison, real
        assert _sample("integrity_consumer_events_total", **where) == len(set(feed.valid)), real
    wait_until(
        lambda: all(
            _sample("integrity_consumer_lag", group=group, topic=t, partition=p) == 0
            for t in topics.values()
            for p in ("0", "1")
        ),
        timeout=30,
        message=f"consumer {group} still reports lag",
    )


def _sample(name: str, **labels: str) -> float | None:
    """The sum of the samples of `name` in this process's Prometheus registry with `labels` among theirs."""
    values = [
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]
    return sum(values) if values else None


def processed(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(ProcessedEvent.event_id)))


def _unknown_values_were_recorded(name: str, engine: Engine, codes: list[str]) -> None:
    with Session(engine) as session:
        if name == "scoring":
            projection = session.get(EnterpriseProjection, codes[1])
            assert projection is not None and projection.subject_type == "SUBJECT_TYPE_UNKNOWN_99"
            assert session.get(GradeRow, codes[1]) is not None  # graded all the same
            assert session.get(GradeRow, codes[2]) is not None
        elif name == "complaints":
            # The copy keeps every registration, whatever enum numbers it carried.
            assert {row.uscc for row in session.exec(select(RegistryCopyRow))} >= {
                codes[0],
                codes[1],
                codes[2],
            }
        else:
            newer = session.get(EnterpriseCopyRow, codes[0])
            assert newer is not None and newer.grade_level == 9  # kept as told: sampled as ungraded
            other = session.get(EnterpriseCopyRow, codes[1])
            assert other is not None and other.subject_type == 99
