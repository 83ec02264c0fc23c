"""Complaint intake: CreateComplaint throughput and p99 while the outbox relay publishes to a real broker.

Measured against a bare gRPC echo servicer in the same run (bench/harness.py). At the end it reports the
outbox backlog (rows not yet acknowledged by the broker) and how long the relay took to drain it.

    .venv/bin/python bench/complaints.py [--calls 3000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import drive, echo_call, ratio_line, start_echo_server
from integrity.complaints.v1 import complaints_pb2 as P
from integrity.complaints.v1 import complaints_pb2_grpc
from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from services.complaints.bootstrap import build_app
from shared.db import make_engine
from shared.grpc_server import start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from shared.uscc import with_check_character

CATEGORIES = [v for v in P.ComplaintCategory.values() if v]


def backlog(engine: Engine) -> int:
    with Session(engine) as session:
        pending = (
            select(func.count()).select_from(OutboxRecord).where(col(OutboxRecord.published_at).is_(None))
        )
        return int(session.exec(pending).one())


def request(i: int) -> P.CreateComplaintRequest:
    """Anonymous public complaints spread over 500 enterprises in Xi'an, each with its own request_id."""
    uscc = with_check_character(f"91610112MA{i % 500:07d}")
    return P.CreateComplaintRequest(
        complaint=P.Complaint(
            enterprise=f"enterprises/{uscc}",
            category=CATEGORIES[i % len(CATEGORIES)],  # type: ignore[arg-type]
            channel=P.COMPLAINT_CHANNEL_ONLINE,
            description=f"第{i}号投诉：电子秤少秤约5%。",
            location="西安市雁塔区某某市场",
        ),
        request_id=str(uuid.uuid4()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with LocalBroker() as broker, tempfile.TemporaryDirectory() as var_dir:
        ensure_topics(broker.bootstrap, [catalogue.COMPLAINTS.publishes])
        settings = Settings(var_dir=Path(var_dir), kafka_bootstrap_servers=broker.bootstrap)
        engine = make_engine(settings.database_url("complaints"))
        echo_server, echo_address = start_echo_server()
        service = start(build_app(settings), 0)
        channel = grpc.insecure_channel(service.address)
        stub = complaints_pb2_grpc.ComplaintServiceStub(channel)
        try:
            payload = request(0).SerializeToString()
            drive("warm-up echo", echo_call(echo_address, payload), 200, args.concurrency)
            baseline = drive("bare echo", echo_call(echo_address, payload), args.calls, args.concurrency)
            drive("warm-up", lambda i: stub.CreateComplaint(request(i), timeout=10), 200, args.concurrency)

            def create(i: int) -> None:
                stub.CreateComplaint(request(i), timeout=10)

            intake = drive("CreateComplaint", create, args.calls, args.concurrency)
            at_end = backlog(engine)
            started = time.perf_counter()
            while backlog(engine) and time.perf_counter() - started < 30:
                time.sleep(0.05)
            drained_after = time.perf_counter() - started
            left = backlog(engine)
        finally:
            channel.close()
            service.stop(2.0)
            echo_server.stop(0)
            engine.dispose()

    print(f"complaint intake, {args.calls} calls, {args.concurrency} client threads, SQLite + Tansu broker")
    print(baseline.line())
    print(intake.line())
    print(ratio_line(intake, baseline))
    print(
        f"outbox backlog when the load stopped: {at_end} events; "
        f"{'drained' if not left else f'{left} still unpublished'} after {drained_after:.2f} s"
    )


if __name__ == "__main__":
    main()
