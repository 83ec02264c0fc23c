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
from sqlalchemy import Engine, Table, func
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import drive, echo_call, ratio_line, start_echo_server
from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker, ensure_topics
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, EnterpriseEventRow, EnterpriseProjection, GradeRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
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


SAMPLE = 2000  # enterprises graded by recompute when --reads-only copies their grades


def seed_grades(engine: Engine, enterprises: int) -> None:
    """For --reads-only: SAMPLE enterprises seeded and graded by recompute, then their projections and
    grades copied under new USCCs up to `enterprises` (reads need graded rows, not how they were made)."""
    seed(engine, min(SAMPLE, enterprises))
    recompute_all(ScoringUnitOfWork(engine), load_policy(), T0 + timedelta(days=400))
    projection: Table = EnterpriseProjection.__table__  # type: ignore[attr-defined]
    grades: Table = GradeRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        sample = {row.uscc: row._asdict() for row in connection.execute(grades.select())}
        projected = {row.uscc: row._asdict() for row in connection.execute(projection.select())}
    codes = sorted(sample)
    for first in range(len(codes), enterprises, 20000):
        copies, graded = [], []
        for i in range(first, min(first + 20000, enterprises)):
            original, code = codes[i % len(codes)], code_of(i)
            copies.append(
                {**projected[original], "uscc": code, "display_name": f"西安市基准测试企业{i}有限公司"}
            )
            # A distinct probability per copy, so the risk order is not decided by the USCC alone.
            probability = sample[original]["violation_probability"] * (1 - i / (enterprises * 10))
            graded.append({**sample[original], "uscc": code, "violation_probability": probability})
        with engine.begin() as connection:
            connection.execute(projection.insert(), copies)
            connection.execute(grades.insert(), graded)


def bench_recompute_and_reads(
    directory: str, enterprises: int, calls: int, concurrency: int, reads_only: bool = False
) -> None:
    engine = fresh_engine(directory, "recompute")
    policy = load_policy()
    started = time.perf_counter()
    if reads_only:
        seed_grades(engine, enterprises)
        print(
            f"reads only: {enterprises} graded enterprises written in {time.perf_counter() - started:.1f} s"
        )
    else:
        seed(engine, enterprises)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        summary = recompute_all(ScoringUnitOfWork(engine), policy, T0 + timedelta(days=400))
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rate = summary.enterprises / seconds
        print(
            f"recompute, {enterprises} enterprises x 3 events on SQLite "
            "(target: 1,000,000 in < 120 s, < 4 GB)"
        )
        print(f"  seeded in {seeded:.1f} s; recomputed in {seconds:.1f} s = {rate:.0f} enterprises/s")
        print(
            f"  at this rate 1,000,000 would take {1_000_000 / rate:.0f} s; "
            f"peak RSS of this process {peak_mb:.0f} MB"
        )

    settings = Settings(
        var_dir=Path(directory) / "var", scoring_database_url=f"sqlite:///{directory}/recompute.db"
    )
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
    parser.add_argument("--only-ingest", action="store_true", help="ingest only: no recompute or reads")
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help=f"no recompute figure: {SAMPLE} enterprises graded, their grades copied to --enterprises, reads",
    )
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
                directory, args.enterprises, args.calls, args.concurrency, args.reads_only
            )


if __name__ == "__main__":
    main()
