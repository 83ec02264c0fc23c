"""Scoring: event ingest, a full recompute, risk-list first pages and GetGrade, each against a baseline.

- ingest: the scoring consumer (decode, history, projection, regrade, inbox mark, outbox) reading N
  events from a fresh topic on a local Tansu broker, against a bare kafka-python consumer reading the
  same topic in the same run (timed from the first record to the last, so the group join is excluded);
- recompute: the recompute use case (`recompute_all`) over E enterprises (three events each) on SQLite,
  with peak memory;
- risk list: the first page (50) of a filtered risk list over the E graded enterprises, through gRPC
  with a regulator's token, p50/p99 against the bare echo servicer;
- GetGrade: throughput and p99 through gRPC against the bare echo servicer.

    .venv/bin/python bench/scoring.py [--events 5000] [--enterprises 20000] [--calls 2000] [--concurrency 8]
        [--only-ingest] [--per-event]

Targets from the issue: ingest >= 5,000 events/s; recompute of 1,000,000 enterprises < 2 min and < 4 GB;
risk-list first page p99 < 100 ms over 1,000,000. The defaults are smaller so a run takes a few minutes;
pass --enterprises 1000000 to measure at full size.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import grpc
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine, func
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import copy_database, drive, echo_call, integrity, ratio_line, start_echo_server
from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker, ensure_topics
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, EnterpriseEventRow, EnterpriseProjection
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork, open_unit_of_work
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from services.scoring.manifest import SERVICE
from services.scoring.use_cases.recompute import recompute_all
from shared.auth import Role, issue_token
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.events import Event, new_event, to_record
from shared.grpc_server import ServiceApp, start
from shared.inbox import ProcessedEvent
from shared.settings import Settings
from shared.uscc import with_check_character

T0 = datetime(2023, 1, 1, tzinfo=UTC)
OUTCOMES = [
    inspections_pb2.INSPECTION_OUTCOME_COMPLIANT,
    inspections_pb2.INSPECTION_OUTCOME_COMPLIANT,
    inspections_pb2.INSPECTION_OUTCOME_MINOR_VIOLATION,
    inspections_pb2.INSPECTION_OUTCOME_MAJOR_VIOLATION,
    inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
]


def code_of(i: int, prefix: str = "MA") -> str:
    return with_check_character(f"91610112{prefix}{i:07d}")


def enterprise_events(code: str, i: int) -> list[Event]:
    """A registration and two inspections, in time order."""
    enterprise = enterprises_pb2.Enterprise(
        name=f"enterprises/{code}",
        uscc=code,
        display_name=f"西安市基准测试企业{i}有限公司",
        region_code="610112",
        industry_code="F5265",
        subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        size_class=enterprises_pb2.SIZE_CLASS_SMALL,
        registered_date="2018-03-01",
    )
    events = [new_event("//bench", code, events_pb2.EnterpriseRegistered(enterprise=enterprise), T0)]
    for n, outcome in enumerate((OUTCOMES[i % 2], OUTCOMES[i % len(OUTCOMES)])):
        payload = events_pb2.InspectionCompleted(inspection=f"inspections/{i}-{n}", outcome=outcome)
        events.append(new_event("//bench", code, payload, T0 + timedelta(days=30 * (n + 1) + i % 7)))
    return events


def fresh_engine(directory: str, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{directory}/{name}.db")
    create_tables(engine, TABLES)
    return engine


# -- ingest --------------------------------------------------------------------------------------------


def bench_ingest(directory: str, events_total: int, per_event: bool = False) -> None:
    topic = f"bench.scoring.{uuid.uuid4().hex[:8]}"
    events = []
    for i in range(events_total // 3 + 1):
        events.extend(enterprise_events(code_of(i, "NX"), i))
    events = events[:events_total]
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap, [topic])
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
        for event in events:
            record = to_record(topic, event)
            producer.send(topic, key=record.key, value=record.value, headers=record.headers)
        producer.flush(timeout=60)
        producer.close()

        bare = KafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=f"bare-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )
        seen, first = 0, None
        deadline = time.monotonic() + 120
        while seen < len(events) and time.monotonic() < deadline:
            for records in bare.poll(timeout_ms=500).values():
                first = first or time.perf_counter()
                seen += len(records)
        bare_seconds = time.perf_counter() - (first or time.perf_counter())
        bare.close()

        engine = fresh_engine(directory, "ingest")
        handler = ScoringEventHandler(load_policy())
        consumer = EventConsumer(
            engine,
            broker.bootstrap,
            group_id=f"scoring-{uuid.uuid4().hex[:6]}",
            topics=[topic],
            handler=handler,
            unit_of_work=partial(ScoringUnitOfWork, engine),
            # As the service wires it (bootstrap.py); --per-event measures the reference path alone.
            batch_handler=None if per_event else handler.handle_batch,
        )
        consumer.start()
        processed, first = 0, None
        deadline = time.monotonic() + 600
        while processed < len(events) and time.monotonic() < deadline:
            time.sleep(0.05)
            with Session(engine) as session:
                processed = session.exec(select(func.count()).select_from(ProcessedEvent)).one()
            if processed and first is None:
                first = time.perf_counter()
        scoring_seconds = time.perf_counter() - (first or time.perf_counter())
        consumer.stop()
        engine.dispose()

    bare_rate = seen / bare_seconds if bare_seconds else float("inf")
    rate = processed / scoring_seconds if scoring_seconds else float("inf")
    path = "per-event handler" if per_event else "batch handler"
    print(f"ingest, {len(events)} events on SQLite + Tansu, {path} (target >= 5,000 events/s, >= 0.3x bare)")
    print(f"  bare kafka-python consumer   {seen:>8} records  {bare_rate:>9.0f}/s")
    print(
        f"  scoring consumer             {processed:>8} events   {rate:>9.0f}/s"
        f"  ({rate / bare_rate:.3f}x bare)"
    )


# -- recompute, risk list, GetGrade ----------------------------------------------------------------------


def seed(engine: Engine, enterprises: int) -> None:
    """Projection and history rows written in bulk (the handler path is what ingest measures)."""
    projections, rows = [], []
    for i in range(enterprises):
        code = code_of(i)
        projections.append(
            {
                "uscc": code,
                "display_name": f"西安市基准测试企业{i}有限公司",
                "region_code": "610112" if i % 4 else "610113",
                "industry_code": "F5265",
                "subject_type": "SUBJECT_TYPE_TRADE_INSTRUMENT_USER",
                "registered_date": "2018-03-01",
                "registered_at": T0,
                "last_event_id": f"bench-{i}",
            }
        )
        for event in enterprise_events(code, i):
            rows.append(
                {
                    "event_id": event.id,
                    "uscc": code,
                    "type": event.WhichOneof("payload"),
                    "occurred_at": event.occurred_at.ToDatetime(tzinfo=UTC),
                    "payload": event.SerializeToString(),
                    "level_after": None,
                }
            )
        if len(rows) >= 30000 or i == enterprises - 1:
            with engine.begin() as connection:
                connection.execute(EnterpriseProjection.__table__.insert(), projections)  # type: ignore[attr-defined]
                connection.execute(EnterpriseEventRow.__table__.insert(), rows)  # type: ignore[attr-defined]
            projections, rows = [], []


AS_OF = T0 + timedelta(days=400)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes (the machine may be shared: wall
    time alone says little)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def report_recompute(what: str, enterprises: int, seconds: float, cpu: float) -> None:
    """The rate, the CPU time per enterprise and the peak memory of this process and its largest worker."""
    rate = enterprises / seconds
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  {what}: {seconds:.1f} s = {rate:.0f} enterprises/s, 1,000,000 in {1_000_000 / rate:.0f} s; "
        f"CPU {cpu * 1e6 / enterprises:.0f} µs per enterprise; "
        f"peak RSS {own:.0f} MB (largest worker {children:.0f} MB)"
    )


def same_grades(url: str, scalar_path: str) -> bool:
    """Every grade, grade-history and outbox row of the vectorised run equals the scalar run's, but for
    when each was recorded (which an outbox event's bytes carry too: its other columns are compared)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"ATTACH DATABASE '{scalar_path}' AS scalar")
        differing = 0
        for table in ("scoring_grades", "scoring_grade_history", "outbox"):
            columns = [
                row[1]
                for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")
                if row[1] not in ("updated_at", "recorded_at", "id", "value")
            ]
            listed = ", ".join(columns)
            for first, second in ((table, f"scalar.{table}"), (f"scalar.{table}", table)):
                query = f"SELECT {listed} FROM {first} EXCEPT SELECT {listed} FROM {second}"
                differing += connection.exec_driver_sql(f"SELECT count(*) FROM ({query})").scalar_one()
    engine.dispose()
    return differing == 0


def bench_recompute_and_reads(
    directory: str,
    enterprises: int,
    calls: int,
    concurrency: int,
    workers: int = 2,
    scalar: bool = True,
    reads: bool = True,
) -> None:
    engine = fresh_engine(directory, "recompute")
    started = time.perf_counter()
    seed(engine, enterprises)
    seeded = time.perf_counter() - started
    policy = load_policy()
    engine.dispose()  # no connection of this process left on the seeded file while it is copied
    print(f"recompute, {enterprises} enterprises x 3 events on SQLite (target: 1,000,000 in < 120 s, < 4 GB)")
    print(f"  seeded in {seeded:.1f} s")
    # Each way of grading on its own copy of the seeded database; the reads below use the last.
    ways = [("vectorised", True, workers)]
    if scalar:
        ways[:0] = [("scalar", False, 1), ("vectorised", True, 1)] if workers > 1 else [("scalar", False, 1)]
    for n, (how, vectorised, processes) in enumerate(ways):
        url = copy_database(f"{directory}/recompute.db", f"{directory}/recompute-{n}.db")
        way_engine = make_engine(url)
        # The first recompute replays every history; the next day's steps each grade forward (the daily run).
        for when, as_of in (("first", AS_OF), ("next day", AS_OF + timedelta(days=1))):
            started, cpu = time.perf_counter(), cpu_seconds()
            summary = recompute_all(
                ScoringUnitOfWork(way_engine),
                policy,
                as_of,
                vectorised=vectorised,
                workers=processes,
                open_uow=partial(open_unit_of_work, url),
            )
            elapsed = time.perf_counter() - started
            report_recompute(
                f"{how}, {processes} process(es), {when}", summary.enterprises, elapsed, cpu_seconds() - cpu
            )
        way_engine.dispose()
        print(f"    PRAGMA integrity_check after the runs: {integrity(url)}")
        if n:
            same = same_grades(url, f"{directory}/recompute-0.db")
            print(f"    same grades, history and events as the scalar run: {same}")
    if not reads:
        return
    engine = make_engine(url)
    settings = Settings(var_dir=Path(directory) / "var", scoring_database_url=url)
    app = ServiceApp(
        manifest=SERVICE,
        servicers=[
            (
                scoring_pb2_grpc.add_ScoringServiceServicer_to_server,
                ScoringServicer(partial(ScoringUnitOfWork, engine), policy),
            )
        ],
        settings=settings,
    )
    service = start(app, 0)
    echo_server, echo_address = start_echo_server()
    channel = grpc.insecure_channel(service.address)
    stub = scoring_pb2_grpc.ScoringServiceStub(channel)
    regulator = (("authorization", f"Bearer {issue_token(settings, Role.REGULATOR, region='610100')}"),)
    system = (("authorization", f"Bearer {issue_token(settings, Role.SYSTEM)}"),)
    try:
        page = scoring_pb2.ListRiskEntriesRequest(
            filter='region_code = "610112" AND level = GRADE_LEVEL_C', page_size=50
        )
        payload = page.SerializeToString()
        drive("warm-up echo", echo_call(echo_address, payload), 200, concurrency)
        baseline = drive("bare echo", echo_call(echo_address, payload), calls, concurrency)

        def first_page(_i: int) -> None:
            stub.ListRiskEntries(page, metadata=regulator, timeout=30)

        drive("warm-up", first_page, 50, concurrency)
        risk = drive("ListRiskEntries first page", first_page, max(calls // 4, 100), concurrency)

        def get_grade(i: int) -> None:
            name = f"enterprises/{code_of(i % enterprises)}/grade"
            stub.GetGrade(scoring_pb2.GetGradeRequest(name=name), metadata=system, timeout=30)

        drive("warm-up", get_grade, 200, concurrency)
        grades = drive("GetGrade", get_grade, calls, concurrency)
    finally:
        channel.close()
        service.stop(1.0)
        echo_server.stop(0)
        engine.dispose()
    print(f"reads over {enterprises} graded enterprises, gRPC with token, {concurrency} client threads")
    print("  " + baseline.line())
    print("  " + risk.line() + "   (target p99 < 100 ms at 1,000,000)")
    print("  " + grades.line())
    print("  " + ratio_line(risk, baseline))
    print("  " + ratio_line(grades, baseline))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000, help="events to ingest (default 5000)")
    parser.add_argument(
        "--enterprises", type=int, default=20000, help="enterprises to recompute (default 20000)"
    )
    parser.add_argument("--calls", type=int, default=2000, help="calls per read measurement (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--skip-ingest", action="store_true", help="no broker: recompute and reads only")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes of the vectorised recompute (default 2)"
    )
    parser.add_argument("--no-scalar", action="store_true", help="no scalar recompute to compare with")
    parser.add_argument("--skip-reads", action="store_true", help="no risk-list and GetGrade measurements")
    parser.add_argument("--only-ingest", action="store_true", help="ingest only: no recompute or reads")
    parser.add_argument(
        "--per-event", action="store_true", help="ingest through the per-event handler (the reference path)"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # access-log lines are part of the cost, not worth printing
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as directory:
        if not args.skip_ingest:
            bench_ingest(directory, args.events, args.per_event)
        if not args.only_ingest:
            bench_recompute_and_reads(
                directory,
                args.enterprises,
                args.calls,
                args.concurrency,
                workers=args.workers,
                scalar=not args.no_scalar,
                reads=not args.skip_reads,
            )


if __name__ == "__main__":
    main()
