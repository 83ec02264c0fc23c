"""Benchmark: how long each service process takes from exec to SERVING on gRPC health, against a bare gRPC
server process (health only) started the same way.

Each is started as `make run` and the Deployments start it (`python -m services.<name>`), first on a new
SQLite database (its schema made by its migrations), then on that existing database (the check that it
is at the code's revision). Kafka is a dead port: SERVING never waits for the broker.

    .venv/bin/python bench/startup.py [--runs 3]

Prints the median of the runs per service and its ratio to the bare server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from operations import catalogue
from operations.broker import free_port

BARE_SERVER = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
server = grpc.server(ThreadPoolExecutor(4))
servicer = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
server.start()
servicer.set("", health_pb2.HealthCheckResponse.SERVING)
time.sleep(3600)
"""


def serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def time_to_serving(argv: list[str], env: dict[str, str], port: int, timeout: float = 120.0) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not serving(port):
            if process.poll() is not None:
                raise RuntimeError(f"{argv} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{argv} not serving after {timeout:.0f}s")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nobody listens there
        "INTEGRITY_LOG_LEVEL": "WARNING",
    }
    bare = []
    for _ in range(args.runs):
        port = free_port()
        bare.append(time_to_serving([sys.executable, "-c", BARE_SERVER, str(port)], base_env, port))
    baseline = statistics.median(bare)
    print(f"bare gRPC server (health only): {baseline:.2f} s to SERVING (median of {args.runs})")
    for service in catalogue.SERVICES:
        figures: dict[str, list[float]] = {"new database": [], "existing database": []}
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="integrity-startup-") as var:
                env = {**base_env, "INTEGRITY_VAR_DIR": var}
                for kind in figures:
                    port = free_port()
                    env[f"{service.name.upper()}_PORT"] = str(port)
                    env[f"{service.name.upper()}_METRICS_PORT"] = str(free_port())
                    argv = [sys.executable, "-m", service.package]
                    figures[kind].append(time_to_serving(argv, env, port))
        line = ", ".join(
            f"{kind} {statistics.median(times):.2f} s ({statistics.median(times) / baseline:.1f}x bare)"
            for kind, times in figures.items()
        )
        print(f"{service.name:<12} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
