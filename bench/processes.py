"""Benchmark: GetGrade and CreateEnterprise throughput with 1 and N gRPC processes per service
(`<NAME>_GRPC_PROCESSES`, shared/processes.py), against a bare gRPC echo on 1 and N processes, same run.

Each service runs as `python -m services.<name>`, a real deployment; the load comes from separate client
processes (default 2, each with its own threads and one connection per thread, so SO_REUSEPORT spreads
them over the server's processes). On a small machine the clients take cores from the servers: compare
the ratios (N processes / 1 process, and service / echo), never the absolute rates between machines.

    .venv/bin/python bench/processes.py [--processes 2] [--calls 4000] [--clients 2] [--concurrency 4]

SQLite (WAL) databases in a temporary folder; Kafka is a dead port (the relay and consumer keep retrying
in the background, as during a broker outage). GetGrade reads `--enterprises` graded enterprises.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import LoadResult
from bench.scoring import T0, code_of, seed
from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.manifest import SERVICE as SCORING
from services.scoring.use_cases.recompute import recompute_all
from shared.auth import Role, issue_token
from shared.settings import Settings
from shared.uscc import with_check_character
from shared.wiring import service_database

REPO = Path(__file__).resolve().parent.parent
ECHO = "/bench.Echo/Echo"


# -- servers -------------------------------------------------------------------------------------------


def echo_server(port: int) -> None:
    """One process of the bare echo (grpc's multiprocessing example, with the harness's echo)."""
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _context: request)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16), handlers=[handler], options=[("grpc.so_reuseport", 1)]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


@contextmanager
def echo_processes(count: int) -> Iterator[str]:
    port = free_port()
    context = multiprocessing.get_context("fork")  # before this process creates any gRPC object
    children = [context.Process(target=echo_server, args=(port,)) for _ in range(count)]
    for child in children:
        child.start()
    try:
        time.sleep(1.0)
        yield f"127.0.0.1:{port}"
    finally:
        for child in children:
            child.kill()
            child.join()


@contextmanager
def service(name: str, count: int, directory: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        cwd=REPO,
        env={
            **os.environ,
            "INTEGRITY_VAR_DIR": str(directory / "var"),
            f"{name.upper()}_PORT": str(port),
            f"{name.upper()}_GRPC_PROCESSES": str(count),
            "INTEGRITY_METRICS_ENABLED": "false",
            "INTEGRITY_LOG_LEVEL": "WARNING",  # no access log, as in the other benches
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            **env,
        },
        stderr=(directory / f"{name}-{count}.log").open("w"),
    )
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address, process, count)
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def wait_serving(address: str, process: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service did not start (see its log in the bench folder)"
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        try:
            with grpc.insecure_channel(address) as channel:
                status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            if status.status == health_pb2.HealthCheckResponse.SERVING and (
                count == 1 or len(children) == count
            ):
                time.sleep(2.0 if count > 1 else 0)  # the last process binds after it is forked
                return
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{address} did not serve")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- clients -------------------------------------------------------------------------------------------


def client(kind: str, address: str, token: str, first: int, calls: int, threads: int, enterprises: int):  # type: ignore[no-untyped-def]
    """One client process: `threads` closed-loop threads, each on its own connection; returns latencies."""

    def caller() -> Callable[[int], None]:
        channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        metadata = (("authorization", f"Bearer {token}"),)
        if kind == "echo":
            echo = channel.unary_unary(ECHO)
            payload = scoring_pb2.GetGradeRequest(name=f"enterprises/{code_of(0)}/grade").SerializeToString()
            return lambda _i: echo(payload, timeout=30)
        if kind == "GetGrade":
            grades = scoring_pb2_grpc.ScoringServiceStub(channel)
            return lambda i: grades.GetGrade(
                scoring_pb2.GetGradeRequest(name=f"enterprises/{code_of(i % enterprises)}/grade"),
                metadata=metadata,
                timeout=30,
            )
        registry = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
        return lambda i: registry.CreateEnterprise(
            enterprises_pb2.CreateEnterpriseRequest(enterprise=company(i)), metadata=metadata, timeout=30
        )

    callers = [caller() for _ in range(threads)]
    try:
        for t, call in enumerate(callers):  # connect before the clock starts
            call(first + t)
    except grpc.RpcError as e:
        raise RuntimeError(f"{kind}: {e.code()} {e.details()}") from None
    per_thread = calls // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def work(t: int) -> None:
        start = first + threads + t * per_thread
        for i in range(start, start + per_thread):
            started = time.perf_counter()
            callers[t](i)
            latencies[t].append((time.perf_counter() - started) * 1000)

    try:
        with futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
    except grpc.RpcError as e:  # not picklable: the parent gets what it says
        raise RuntimeError(f"{kind}: {e.code()} {e.details()}") from None
    return [ms for thread in latencies for ms in thread]


def company(i: int) -> enterprises_pb2.Enterprise:
    return enterprises_pb2.Enterprise(
        uscc=with_check_character(f"91610112{i:09d}"),
        display_name=f"西安市多进程基准企业{i}有限公司",
        region_code="610112",
        industry_code="5265",
        subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        registered_date="2015-06-30",
    )


def load(name: str, kind: str, address: str, token: str, args: argparse.Namespace, offset: int) -> LoadResult:
    per_client = args.calls // args.clients
    with futures.ProcessPoolExecutor(args.clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(abs, range(args.clients)))  # the client processes exist before the clock starts
        started = time.perf_counter()
        jobs = [
            pool.submit(
                client,
                kind,
                address,
                token,
                offset + c * (per_client + args.concurrency),
                per_client,
                args.concurrency,
                args.enterprises,
            )
            for c in range(args.clients)
        ]
        latencies = [ms for job in jobs for ms in job.result()]
        seconds = time.perf_counter() - started
    return LoadResult(name, len(latencies), seconds, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="server processes to compare with 1 (default 2)"
    )
    parser.add_argument("--calls", type=int, default=4000, help="calls per measurement (default 4000)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per client process (default 4)")
    parser.add_argument("--enterprises", type=int, default=2000, help="graded enterprises GetGrade reads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-processes-") as folder:
        directory = Path(folder)
        settings = Settings(var_dir=directory / "var", scoring_database_url=f"sqlite:///{folder}/scoring.db")
        engine = service_database(settings, SCORING)
        seed(engine, args.enterprises)
        recompute_all(ScoringUnitOfWork(engine), load_policy(), T0 + timedelta(days=400))
        engine.dispose()
        token = issue_token(settings, Role.SYSTEM)
        results: dict[tuple[str, int], LoadResult] = {}
        for count in sorted({1, args.processes}):
            with echo_processes(count) as address:
                results["echo", count] = load(f"bare echo, {count} proc", "echo", address, token, args, 0)
            env = {"SCORING_DATABASE_URL": f"sqlite:///{folder}/scoring.db"}
            with service("scoring", count, directory, env) as address:
                results["GetGrade", count] = load(
                    f"GetGrade, {count} proc", "GetGrade", address, token, args, 0
                )
            env = {"ENTERPRISES_DATABASE_URL": f"sqlite:///{folder}/enterprises-{count}.db"}
            with service("enterprises", count, directory, env) as address:
                results["CreateEnterprise", count] = load(
                    f"CreateEnterprise, {count} proc", "CreateEnterprise", address, token, args, 10**8
                )

    print(
        f"{args.calls} calls each, {args.clients} client processes x {args.concurrency} threads "
        f"(one connection each), {os.cpu_count()} cores, SQLite (WAL), loopback"
    )
    for result in results.values():
        print(result.line())
    n = args.processes
    for kind in ("echo", "GetGrade", "CreateEnterprise"):
        one, many = results[kind, 1].throughput, results[kind, n].throughput
        line = f"{kind}: {n} processes = {many / one:.2f}x 1 process"
        if kind != "echo":
            line += (
                f"; vs echo on as many processes: {one / results['echo', 1].throughput:.2f} (1), "
                f"{many / results['echo', n].throughput:.2f} ({n})"
            )
        print(line)


if __name__ == "__main__":
    main()
