"""Scoring ingest scaled out: 1, 2 and 3 scoring consumers (one process each, as separate service replicas
would run) in one consumer group on a six-partition topic, against a bare kafka-python consumer reading
the same topic in the same run.

Each run starts its members on a fresh database, waits until the group has given every member partitions
(Tansu takes seconds to settle a group), then produces the events (keyed by USCC, as the services
publish) and times from the first processed event to the last. The members share one database, as the
replicas of a service do: SQLite (WAL) by default, where writers take turns; pass --database-url with a
PostgreSQL server URL to give each run a database there instead.

    .venv/bin/python bench/scoring_scale.py [--events 6000] [--members 1 2 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
import uuid
from functools import partial
from multiprocessing.synchronize import Event as StopSignal
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring import code_of, enterprise_events
from operations.broker import LocalBroker, ensure_topics
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.events import Event, to_record

PARTITIONS = 6


def member(bootstrap: str, topic: str, group: str, url: str, assigned: StopSignal, stop: StopSignal) -> None:
    """One scoring consumer (a replica of the service's consumer), until `stop`."""
    logging.disable(logging.WARNING)
    engine = make_engine(url)
    handler = ScoringEventHandler(load_policy())
    consumer = EventConsumer(
        engine, bootstrap, group, [topic], handler,
        unit_of_work=partial(ScoringUnitOfWork, engine), batch_handler=handler.handle_batch,
    )  # fmt: skip
    consumer.start()
    while not stop.wait(0.1):
        client = consumer._consumer  # read-only look at the group's assignment, for the bench's start
        if client is not None and client.assignment():
            assigned.set()
    consumer.stop(timeout=15)
    engine.dispose()


def processed(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM processed_events")).scalar_one())
    finally:
        engine.dispose()


def publish(bootstrap: str, topic: str, events: list[Event]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for event in events:
        record = to_record(topic, event)
        producer.send(topic, key=record.key, value=record.value, headers=record.headers)
    producer.flush(timeout=60)
    producer.close()


def bare_rate(bootstrap: str, topic: str, total: int) -> float:
    bare = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )  # fmt: skip
    seen, first = 0, None
    deadline = time.monotonic() + 120
    while seen < total and time.monotonic() < deadline:
        for records in bare.poll(timeout_ms=500).values():
            first = first or time.perf_counter()
            seen += len(records)
    seconds = time.perf_counter() - (first or time.perf_counter())
    bare.close()
    return seen / seconds if seconds else float("inf")


def database(base: str | None, directory: str, name: str) -> str:
    """A fresh database's URL: a SQLite file, or a new database on the PostgreSQL server of `base`."""
    if base is None:
        url = f"sqlite:///{directory}/{name}.db"
    else:
        import psycopg

        server = make_url(base)
        database_name = f"bench_scale_{uuid.uuid4().hex[:10]}"
        admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database_name}"')
        url = server.set(database=database_name).render_as_string(hide_password=False)
    engine = make_engine(url)
    create_tables(engine, TABLES)
    engine.dispose()
    return url


def run(bootstrap: str, events: list[Event], members: int, url: str) -> float:
    """Events per second through `members` consumers in one group (first processed to last)."""
    topic = f"bench.scale.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    signals = [context.Event() for _ in range(members)]
    group = f"scoring-{uuid.uuid4().hex[:6]}"
    processes = [
        context.Process(target=member, args=(bootstrap, topic, group, url, signal, stop))
        for signal in signals
    ]
    for process in processes:
        process.start()
    try:
        deadline = time.monotonic() + 90
        while not all(signal.is_set() for signal in signals) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let the last rebalance settle on every member
        publish(bootstrap, topic, events)
        done, first = 0, None
        deadline = time.monotonic() + 900
        while done < len(events) and time.monotonic() < deadline:
            time.sleep(0.05)
            done = processed(url)
            if done and first is None:
                first = time.perf_counter()
        seconds = time.perf_counter() - (first or time.perf_counter())
    finally:
        stop.set()
        for process in processes:
            process.join(30)
    return done / seconds if seconds else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=6000, help="events per run (default 6000)")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 2, 3], help="group sizes (1 2 3)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite files)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    events: list[Event] = []
    for i in range(args.events // 3 + 1):
        events.extend(enterprise_events(code_of(i, "MB"), i))
    events = events[: args.events]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory, LocalBroker() as broker:
        topic = f"bench.bare.{uuid.uuid4().hex[:8]}"
        ensure_topics(broker.bootstrap, [topic], partitions=PARTITIONS)
        publish(broker.bootstrap, topic, events)
        bare = bare_rate(broker.bootstrap, topic, len(events))
        database_kind = "SQLite" if args.database_url is None else "PostgreSQL"
        print(f"scoring ingest scaled out, {len(events)} events, {PARTITIONS} partitions, {database_kind}")
        print(f"  bare kafka-python consumer      {bare:>9.0f}/s")
        single = None
        for members in args.members:
            url = database(args.database_url, directory, f"members-{members}")
            rate = run(broker.bootstrap, events, members, url)
            single = single or rate
            print(
                f"  {members} scoring consumer(s)          {rate:>9.0f}/s  ({rate / bare:.3f}x bare, "
                f"{rate / single:.2f}x one consumer)"
            )


if __name__ == "__main__":
    main()
