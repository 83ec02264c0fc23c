"""The idempotent consumer against a real broker: each event changes state once, replays change nothing,
poison goes to the dead-letter topic, and transient failures are retried without skipping."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine, func
from sqlmodel import Field, Session, SQLModel, select

from operations.broker import LocalBroker, ensure_topics
from shared.consumer import EventConsumer, EventHandler
from shared.db import UnitOfWork, create_tables, make_engine
from shared.events import Event, InvalidEvent, to_record, utcnow
from shared.inbox import ProcessedEvent
from shared.topics import dead_letter
from tests.helpers import enterprise_registered, free_port, quiet_port, valid_uscc, wait_until
from tests.integration.kafka_reading import read_topic

pytestmark = pytest.mark.integration


class Registration(SQLModel, table=True):
    """The state a test handler changes, written in the consumer's transaction."""

    __tablename__ = "test_consumer_registrations"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64)
    uscc: str = Field(max_length=18)


class RecordingHandler:
    """Writes a Registration per event and remembers every call (including failed attempts)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, uow: UnitOfWork, event: Event, topic: str) -> None:
        session = uow.session
        with self._lock:
            self.calls.append(event.id)
        session.add(Registration(event_id=event.id, uscc=event.subject))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, [ProcessedEvent, Registration])
    yield engine
    engine.dispose()


@pytest.fixture
def topic(broker: LocalBroker) -> str:
    # One partition, so "the last event was processed" means every earlier one was handled too.
    name = f"test.consumer.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, [name], partitions=1)
    return name


@pytest.fixture
def producer(broker: LocalBroker) -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    yield producer
    producer.close()


def publish(producer: KafkaProducer, topic: str, *events: Event) -> None:
    for event in events:
        record = to_record(topic, event)
        producer.send(topic, value=record.value, key=record.key, headers=record.headers).get(timeout=10)


def registrations(engine: Engine, event_id: str | None = None) -> int:
    with Session(engine) as session:
        statement = select(func.count()).select_from(Registration)
        if event_id is not None:
            statement = statement.where(Registration.event_id == event_id)
        return int(session.exec(statement).one())


def processed(engine: Engine, event_id: str) -> bool:
    with Session(engine) as session:
        return session.get(ProcessedEvent, event_id) is not None


def running(engine: Engine, broker: LocalBroker, topic: str, handler: EventHandler) -> EventConsumer:
    consumer = EventConsumer(engine, broker.bootstrap, f"test-{uuid.uuid4().hex[:8]}", [topic], handler)
    consumer.start()
    return consumer


def events(count: int) -> list[Event]:
    return [enterprise_registered(valid_uscc(100 + n % 2)) for n in range(count)]


def test_each_event_is_processed_once_and_a_replay_changes_nothing(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    e1, e2, e3, e4, e5 = events(5)
    handler = RecordingHandler()
    publish(producer, topic, e1, e2, e3, e1, e4)  # e1 delivered twice, as after a relay retry

    consumer = running(engine, broker, topic, handler)
    try:
        wait_until(lambda: processed(engine, e4.id), timeout=30)
    finally:
        consumer.stop()
    assert handler.calls == [e1.id, e2.id, e3.id, e4.id]
    assert registrations(engine) == 4

    # A new group starts from offset 0: every record is delivered again, nothing changes.
    publish(producer, topic, e5)
    replay = running(engine, broker, topic, handler)
    try:
        wait_until(lambda: processed(engine, e5.id), timeout=30)
    finally:
        replay.stop()
    assert handler.calls == [e1.id, e2.id, e3.id, e4.id, e5.id]
    assert registrations(engine) == 5


def test_the_same_group_resumes_after_its_committed_offset(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    e1, e2 = events(2)
    handler = RecordingHandler()
    group = f"test-{uuid.uuid4().hex[:8]}"
    publish(producer, topic, e1)
    first = EventConsumer(engine, broker.bootstrap, group, [topic], handler)
    first.start()
    try:
        wait_until(lambda: processed(engine, e1.id), timeout=30)
    finally:
        first.stop()

    # Forget the inbox: if the offset had not been committed, e1 would be handled again.
    with Session(engine) as session:
        session.delete(session.get(ProcessedEvent, e1.id))
        session.commit()
    publish(producer, topic, e2)
    second = EventConsumer(engine, broker.bootstrap, group, [topic], handler)
    second.start()
    try:
        wait_until(lambda: processed(engine, e2.id), timeout=30)
    finally:
        second.stop()
    assert handler.calls == [e1.id, e2.id]


def test_invalid_records_go_to_the_dead_letter_topic_and_consumption_goes_on(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    rejected, good = events(2)
    wrong_subject = enterprise_registered(valid_uscc(1))
    wrong_subject.subject = "91610100MA0000001X"
    handler = RecordingHandler()

    def strict_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        handler(uow, event, topic_name)
        if event.id == rejected.id:
            raise InvalidEvent("enterprise is not registered here")

    producer.send(topic, value=b"\xff garbage \x00", key=b"junk", headers=[("trace", b"42")]).get(timeout=10)
    publish(producer, topic, wrong_subject, rejected, good)

    consumer = running(engine, broker, topic, strict_handler)
    try:
        wait_until(lambda: processed(engine, good.id), timeout=30)
    finally:
        consumer.stop()

    assert handler.calls == [rejected.id, good.id]
    assert not processed(engine, rejected.id)
    assert registrations(engine, rejected.id) == 0  # the handler's writes were rolled back
    letters = sorted(read_topic(broker.bootstrap, dead_letter(topic), at_least=3), key=lambda r: r.offset)
    assert [r.value for r in letters] == [
        b"\xff garbage \x00",
        wrong_subject.SerializeToString(),
        rejected.SerializeToString(),
    ]
    garbage, invalid, refused = (dict(r.headers) for r in letters)
    assert letters[0].key == b"junk"
    assert garbage["trace"] == b"42"  # original headers are kept
    assert garbage["error"].startswith(b"not an integrity.events.v1.Event")
    assert garbage["original_topic"] == topic.encode()
    assert garbage["original_partition"] == b"0"
    assert garbage["original_offset"] == b"0"
    assert b"not a valid USCC" in invalid["error"]
    assert invalid["ce_id"] == wrong_subject.id.encode()
    assert invalid["original_offset"] == b"1"
    assert refused["error"] == b"enterprise is not registered here"
    assert refused["original_offset"] == b"2"


def test_a_batch_with_a_duplicate_and_invalid_records_applies_the_rest_once(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    e1, e2, rejected, e3 = events(4)
    handler = RecordingHandler()

    def strict_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        handler(uow, event, topic_name)
        if event.id == rejected.id:
            raise InvalidEvent("enterprise is not registered here")

    # Published before the consumer starts, so they arrive in one poll batch and one transaction.
    publish(producer, topic, e1, e2)
    producer.send(topic, value=b"\xff garbage \x00").get(timeout=10)
    publish(producer, topic, e1, rejected, e3)

    consumer = running(engine, broker, topic, strict_handler)
    try:
        wait_until(lambda: processed(engine, e3.id), timeout=30)
    finally:
        consumer.stop()

    # The rejected event rolled back the attempt it was in; the retry without it applied the others, once
    # each (the repeated e1 is skipped), and the rejected event is not handled again.
    assert handler.calls.count(rejected.id) == 1
    assert [registrations(engine, e.id) for e in (e1, e2, rejected, e3)] == [1, 1, 0, 1]
    assert not processed(engine, rejected.id)
    letters = sorted(read_topic(broker.bootstrap, dead_letter(topic), at_least=2), key=lambda r: r.offset)
    assert [r.value for r in letters] == [b"\xff garbage \x00", rejected.SerializeToString()]
    assert [dict(r.headers)["original_offset"] for r in letters] == [b"2", b"4"]


def test_a_handler_error_that_would_recur_is_poison_not_a_retry(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    """A ValueError (an enum number this version does not know, a timestamp out of range) fails again on
    the same bytes: it is dead-lettered once with its reason and the events behind it go through."""
    poison, after = events(2)
    handler = RecordingHandler()

    def buggy_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        handler(uow, event, topic_name)
        if event.id == poison.id:
            raise ValueError("enum SubjectType has no name defined for value 99")

    publish(producer, topic, poison, after)
    consumer = running(engine, broker, topic, buggy_handler)
    try:
        wait_until(lambda: processed(engine, after.id), timeout=30)
    finally:
        consumer.stop()

    assert handler.calls == [poison.id, after.id]  # tried once, never again
    assert registrations(engine, poison.id) == 0 and not processed(engine, poison.id)
    [letter] = read_topic(broker.bootstrap, dead_letter(topic), at_least=1)
    assert letter.value == poison.SerializeToString()
    assert dict(letter.headers)["error"] == b"ValueError: enum SubjectType has no name defined for value 99"


def test_a_transient_failure_is_retried_and_the_event_processed_exactly_once(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    flaky, after = events(2)
    handler = RecordingHandler()

    def flaky_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        handler(uow, event, topic_name)  # writes first, so a failed attempt must be rolled back
        if event.id == flaky.id and handler.calls.count(flaky.id) <= 2:
            raise ConnectionError("scoring model store unreachable")

    publish(producer, topic, flaky, after)
    consumer = running(engine, broker, topic, flaky_handler)
    try:
        wait_until(lambda: processed(engine, after.id), timeout=30)
    finally:
        consumer.stop()

    assert handler.calls == [flaky.id, flaky.id, flaky.id, after.id]  # never skipped, never reordered
    assert registrations(engine, flaky.id) == 1
    assert registrations(engine) == 2


def test_a_transient_failure_mid_batch_keeps_the_records_before_it_and_retries_from_it(
    broker: LocalBroker, engine: Engine, topic: str, producer: KafkaProducer
) -> None:
    before, flaky, after = events(3)
    handler = RecordingHandler()

    def flaky_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        handler(uow, event, topic_name)
        if event.id == flaky.id and handler.calls.count(flaky.id) <= 2:
            raise ConnectionError("scoring model store unreachable")

    publish(producer, topic, before, flaky, after)
    consumer = running(engine, broker, topic, flaky_handler)
    try:
        wait_until(lambda: processed(engine, after.id), timeout=30)
    finally:
        consumer.stop()

    assert [registrations(engine, e.id) for e in (before, flaky, after)] == [1, 1, 1]
    assert handler.calls.count(flaky.id) == 3  # retried until it went through, never skipped
    assert handler.calls[-1] == after.id  # nothing after the failing record ran before it


def test_an_event_processed_concurrently_elsewhere_counts_as_processed(
    broker: LocalBroker,
    engine: Engine,
    topic: str,
    producer: KafkaProducer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="integrity.consumer")
    contested, after = events(2)
    handler = RecordingHandler()

    def racing_handler(uow: UnitOfWork, event: Event, topic_name: str) -> None:
        if event.id == contested.id:
            # Another group member (e.g. mid-rebalance) finishes the same event first.
            with Session(engine) as rival:
                rival.add(Registration(event_id=event.id, uscc=event.subject))
                rival.add(ProcessedEvent(event_id=event.id, topic=topic_name, processed_at=utcnow()))
                rival.commit()
        handler(uow, event, topic_name)

    publish(producer, topic, contested, after)
    consumer = running(engine, broker, topic, racing_handler)
    try:
        wait_until(lambda: processed(engine, after.id), timeout=30)
    finally:
        consumer.stop()

    assert handler.calls == [contested.id, after.id]
    assert f"event {contested.id} was processed concurrently" in caplog.text
    assert "will retry" not in caplog.text  # the duplicate key is not mistaken for a transient failure
    assert registrations(engine, contested.id) == 1  # the rival's; ours was rolled back


def test_stop_is_prompt_while_the_broker_is_unreachable(engine: Engine) -> None:
    consumer = EventConsumer(engine, f"127.0.0.1:{free_port()}", "nobody", ["t"], RecordingHandler())
    consumer.start()
    thread = consumer._thread
    assert thread is not None

    consumer.stop(timeout=10)

    assert not thread.is_alive()


def test_a_consumer_started_before_the_broker_catches_up(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="integrity.consumer")
    port = quiet_port()  # outside the ephemeral range: retries cannot self-connect and take it
    topic = f"test.consumer.{uuid.uuid4().hex[:8]}"
    event = enterprise_registered(valid_uscc(5))
    handler = RecordingHandler()
    consumer = EventConsumer(engine, f"127.0.0.1:{port}", "late", [topic], handler, max_backoff_seconds=0.5)
    consumer.start()
    try:
        wait_until(lambda: "cannot reach" in caplog.text, timeout=30)
        with LocalBroker(port=port) as late_broker:
            ensure_topics(late_broker.bootstrap, [topic], partitions=1)
            late_producer = KafkaProducer(bootstrap_servers=late_broker.bootstrap, acks="all")
            try:
                publish(late_producer, topic, event)
            finally:
                late_producer.close()
            wait_until(lambda: processed(engine, event.id), timeout=30)
    finally:
        consumer.stop()
    assert handler.calls == [event.id]
