"""Benchmark: CreateEnterprise and GetEnterprise throughput and p99 against a bare gRPC echo servicer.

Both run in the same process and the same run, over loopback, from the same closed-loop client threads,
so the ratios say what the service costs on top of gRPC itself (auth, validation, SQLite WAL with
the outbox row in the same transaction, the access log). Kafka is a dead port: the relay keeps
retrying in the background, as it would during a broker outage.

    .venv/bin/python bench/enterprises.py [--calls 2000] [--concurrency 8] [--database-url URL]

Without --database-url it uses a fresh SQLite file; with one, it needs an empty database there.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import drive, echo_call, ratio_line, start_echo_server
from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from services.enterprises.bootstrap import build_app
from shared.auth import issue_token
from shared.grpc_server import start
from shared.settings import Settings
from shared.uscc import with_check_character


def company(i: int) -> enterprises_pb2.Enterprise:
    return enterprises_pb2.Enterprise(
        uscc=with_check_character(f"91610112{i:09d}"),
        display_name=f"西安市基准测试加油站{i}有限公司",
        region_code="610112",
        industry_code="5265",
        subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        registered_date="2015-06-30",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="calls per measurement (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--database-url", help="an empty database, e.g. postgresql+psycopg://u@host/db")
    args = parser.parse_args()
    # Access-log lines and the relay's warnings about the dead broker: part of the cost, not worth printing.
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench-enterprises-") as directory:
        settings = Settings(
            var_dir=Path(directory) / "var",
            enterprises_database_url=args.database_url or f"sqlite:///{directory}/enterprises.db",
            kafka_bootstrap_servers="127.0.0.1:1",
        )
        service = start(build_app(settings), 0)
        echo_server, echo_address = start_echo_server()
        channel = grpc.insecure_channel(service.address)
        stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
        metadata = (("authorization", f"Bearer {issue_token(settings, 'system')}"),)
        payload = enterprises_pb2.CreateEnterpriseRequest(enterprise=company(0)).SerializeToString()
        try:
            # Warm-up: connections, caches, the SQLite file, the first token verification.
            drive("warm-up", echo_call(echo_address, payload), 200, args.concurrency)
            for i in range(10**8, 10**8 + 50):
                stub.CreateEnterprise(
                    enterprises_pb2.CreateEnterpriseRequest(enterprise=company(i)),
                    metadata=metadata,
                    timeout=10,
                )

            echo = drive("bare echo", echo_call(echo_address, payload), args.calls, args.concurrency)

            def create(i: int) -> None:
                request = enterprises_pb2.CreateEnterpriseRequest(enterprise=company(i + 1))
                stub.CreateEnterprise(request, metadata=metadata, timeout=10)

            def get(i: int) -> None:
                request = enterprises_pb2.GetEnterpriseRequest(name=f"enterprises/{company(i + 1).uscc}")
                stub.GetEnterprise(request, metadata=metadata, timeout=10)

            created = drive("CreateEnterprise", create, args.calls, args.concurrency)
            got = drive("GetEnterprise", get, args.calls, args.concurrency)
        finally:
            channel.close()
            service.stop(1.0)
            echo_server.stop(None)

    database = "PostgreSQL" if args.database_url and "postgres" in args.database_url else "SQLite (WAL)"
    print(f"{args.calls} calls each, {args.concurrency} client threads, {database}, loopback")
    for result in (echo, created, got):
        print(result.line())
    print(ratio_line(created, echo))
    print(ratio_line(got, echo))


if __name__ == "__main__":
    main()
