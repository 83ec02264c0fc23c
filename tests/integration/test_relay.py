"""The outbox relay against a real broker: committed rows go out in order with CloudEvents headers, and
nothing is lost while the broker is down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from operations.broker import LocalBroker, ensure_topics
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import Event, decode, utcnow
from shared.outbox import MAX_EVENT_BYTES, OutboxRecord, add_event
from shared.relay import OutboxRelay, republish_since
from tests.helpers import enterprise_registered, free_port, quiet_port, valid_uscc, wait_until
from tests.integration.kafka_reading import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, [OutboxRecord])
    yield engine
    engine.dispose()


def new_topic(bootstrap: str | None = None) -> str:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    if bootstrap:
        ensure_topics(bootstrap, [topic])
    return topic


def stage(engine: Engine, topic: str, events: list[Event]) -> None:
    with Session(engine) as session:
        for event in events:
            add_event(session, topic, event)
        session.commit()


def outbox_rows(engine: Engine) -> list[OutboxRecord]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxRecord).order_by(col(OutboxRecord.id))).all())


def interleaved_events(enterprises: int, per_enterprise: int) -> list[Event]:
    codes = [valid_uscc(1000 + n) for n in range(enterprises)]
    return [enterprise_registered(code) for _ in range(per_enterprise) for code in codes]


def test_publishes_committed_rows_in_order_with_headers(broker: LocalBroker, engine: Engine) -> None:
    topic = new_topic(broker.bootstrap)
    events = interleaved_events(enterprises=3, per_enterprise=4)
    relay = OutboxRelay(engine, broker.bootstrap)

    with Session(engine) as session:  # staged but not committed: invisible to the relay
        add_event(session, topic, events[0])
        session.flush()
        assert relay.publish_pending() == 0
        session.rollback()
    stage(engine, topic, events)
    try:
        assert relay.publish_pending() == len(events)
        assert relay.publish_pending() == 0
    finally:
        relay.stop()

    assert all(row.published_at is not None and row.last_error is None for row in outbox_rows(engine))
    records = read_topic(broker.bootstrap, topic, at_least=len(events))
    assert sorted(r.value for r in records) == sorted(e.SerializeToString() for e in events)
    for key in {e.subject for e in events}:  # one enterprise's events keep their order
        sent = [e.id for e in events if e.subject == key]
        received = sorted((r for r in records if r.key == key.encode()), key=lambda r: r.offset)
        assert [decode(r.value).id for r in received] == sent
        assert len({r.partition for r in received}) == 1
    for record in records:
        event = decode(record.value)
        headers = dict(record.headers)
        assert headers["ce_id"] == event.id.encode()
        assert headers["ce_type"] == event.type.encode()
        assert headers["ce_subject"] == record.key == event.subject.encode()
        assert headers["ce_source"] == b"//integrity/enterprises"


def test_background_thread_publishes_after_wake(broker: LocalBroker, engine: Engine) -> None:
    topic = new_topic(broker.bootstrap)
    relay = OutboxRelay(engine, broker.bootstrap, poll_seconds=30)  # only wake() can make it prompt
    stage(engine, topic, [enterprise_registered(valid_uscc(7))])
    relay.start()
    try:
        # The first pass publishes the first row; then the thread sleeps for poll_seconds.
        wait_until(lambda: all(row.published_at for row in outbox_rows(engine)), timeout=10)
        stage(engine, topic, [enterprise_registered(valid_uscc(8))])
        relay.wake()
        wait_until(lambda: all(row.published_at for row in outbox_rows(engine)), timeout=10)
    finally:
        relay.stop()
    assert len(read_topic(broker.bootstrap, topic, at_least=2)) == 2


def test_nothing_is_lost_while_the_broker_is_down(engine: Engine) -> None:
    port = quiet_port()  # outside the ephemeral range: retries cannot self-connect and take it
    topic = new_topic()
    events = interleaved_events(enterprises=2, per_enterprise=3)
    stage(engine, topic, events[:3])
    relay = OutboxRelay(engine, f"127.0.0.1:{port}", poll_seconds=0.05, max_backoff_seconds=0.5)

    assert relay.publish_pending() == 0  # no broker: no exception, the error is recorded
    relay.start()
    try:
        stage(engine, topic, events[3:])  # the writer never waits for the broker
        wait_until(lambda: all(row.attempts >= 1 for row in outbox_rows(engine)), timeout=30)
        for row in outbox_rows(engine):
            assert row.published_at is None
            assert row.last_error

        with LocalBroker(port=port) as late_broker:
            ensure_topics(late_broker.bootstrap, [topic])
            relay.wake()
            wait_until(lambda: all(row.published_at for row in outbox_rows(engine)), timeout=30)
            records = read_topic(late_broker.bootstrap, topic, at_least=len(events))
    finally:
        relay.stop()

    assert sorted(decode(r.value).id for r in records) == sorted(e.id for e in events)
    for key in {e.subject for e in events}:
        received = sorted((r for r in records if r.key == key.encode()), key=lambda r: r.offset)
        assert [decode(r.value).id for r in received] == [e.id for e in events if e.subject == key]


def test_stop_is_prompt_while_the_broker_is_down(engine: Engine) -> None:
    stage(engine, new_topic(), [enterprise_registered(valid_uscc(9))])
    relay = OutboxRelay(engine, f"127.0.0.1:{free_port()}", poll_seconds=0.05)
    relay.start()
    wait_until(lambda: outbox_rows(engine)[0].attempts >= 1, timeout=30)

    relay.stop(timeout=10)

    assert relay._thread is None


def test_republish_since_sends_recent_rows_again(broker: LocalBroker, engine: Engine) -> None:
    topic = new_topic(broker.bootstrap)
    old = [enterprise_registered(valid_uscc(n)) for n in range(2)]
    recent = [enterprise_registered(valid_uscc(n)) for n in range(10, 13)]
    relay = OutboxRelay(engine, broker.bootstrap)
    try:
        stage(engine, topic, old)
        cutoff = utcnow()
        stage(engine, topic, recent)
        assert relay.publish_pending() == 5

        assert republish_since(engine, cutoff) == len(recent)
        assert republish_since(engine, utcnow() + timedelta(days=1)) == 0
        unpublished = [row.event_id for row in outbox_rows(engine) if row.published_at is None]
        assert unpublished == [e.id for e in recent]
        assert relay.publish_pending() == len(recent)
    finally:
        relay.stop()

    records = read_topic(broker.bootstrap, topic, at_least=8)
    ids = [decode(r.value).id for r in records]
    assert len(ids) == 8
    assert sorted(ids) == sorted([e.id for e in old] + [e.id for e in recent] * 2)


def test_a_row_the_broker_refuses_for_good_is_parked_and_later_rows_flow(
    broker: LocalBroker, engine: Engine
) -> None:
    topic = new_topic(broker.bootstrap)
    before, after = interleaved_events(enterprises=2, per_enterprise=1)
    stage(engine, topic, [before])
    with Session(engine) as session:  # a legacy row, written before sizes were checked at staging
        huge = enterprise_registered(valid_uscc(1002))
        huge.enterprise_registered.enterprise.display_name = "x" * 2_000_000
        session.add(
            OutboxRecord(
                event_id=huge.id,
                topic=topic,
                key=huge.subject,
                event_type=huge.type,
                value=huge.SerializeToString(),
                occurred_at=utcnow(),
                recorded_at=utcnow(),
            )
        )
        session.commit()
    stage(engine, topic, [after])
    relay = OutboxRelay(engine, broker.bootstrap)
    try:
        relay.publish_pending()
        assert relay.publish_pending() == 0  # nothing left: the refused row does not come back
    finally:
        relay.stop()

    rows = {row.event_id: row for row in outbox_rows(engine)}
    assert rows[huge.id].parked_at is not None and rows[huge.id].published_at is None
    assert "MessageSizeTooLarge" in (rows[huge.id].last_error or "")
    assert rows[before.id].published_at and rows[after.id].published_at
    records = read_topic(broker.bootstrap, topic, at_least=2)
    assert sorted(decode(r.value).id for r in records) == sorted([before.id, after.id])


def test_an_event_too_large_to_publish_is_refused_when_staged(engine: Engine) -> None:
    event = enterprise_registered(valid_uscc(1003))
    event.enterprise_registered.enterprise.display_name = "x" * (MAX_EVENT_BYTES + 1)
    with Session(engine) as session, pytest.raises(IntegrityError) as caught:
        add_event(session, "t", event)
    assert caught.value.kind is ErrorKind.INVALID_ARGUMENT
    assert "shorten its free text" in caught.value.message
    assert outbox_rows(engine) == []


def test_a_broker_that_lost_its_log_gets_every_event_again(engine: Engine) -> None:
    """The local broker keeps its log in memory: a restart forgets what it acknowledged. The relay notices
    (a new cluster id) and publishes everything again; consumers skip what they had processed."""
    port = quiet_port()
    topic = new_topic()
    first, second = interleaved_events(enterprises=2, per_enterprise=1)
    relay = OutboxRelay(engine, f"127.0.0.1:{port}", poll_seconds=0.05, max_backoff_seconds=0.5)
    try:
        with LocalBroker(port=port) as lost:
            ensure_topics(lost.bootstrap, [topic])
            stage(engine, topic, [first])
            relay.start()
            wait_until(lambda: all(row.published_at for row in outbox_rows(engine)), timeout=30)
        with LocalBroker(port=port) as restarted:  # same address, empty log
            ensure_topics(restarted.bootstrap, [topic])
            stage(engine, topic, [second])
            relay.wake()
            records = read_topic(restarted.bootstrap, topic, at_least=2)
    finally:
        relay.stop()
    assert sorted(decode(r.value).id for r in records) == sorted([first.id, second.id])
