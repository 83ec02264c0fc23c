"""Load harness for benchmarks: a bare gRPC echo baseline and a closed-loop client driver.

Every benchmark measures the bare baseline in the same run, on the same machine, and prints the ratio,
so the figures stay comparable across noisy, shared machines.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc

from shared.db import make_engine

_ECHO_METHOD = "/bench.Echo/Echo"


@dataclass(frozen=True)
class LoadResult:
    name: str
    calls: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.calls:>7} calls  {self.throughput:>9.1f}/s  "
            f"p50 {statistics.median(self.latencies_ms):7.2f} ms  p99 {self.percentile(0.99):7.2f} ms"
        )


def start_echo_server(max_workers: int = 16) -> tuple[grpc.Server, str]:
    """A bare gRPC server whose one method returns its request bytes: the floor for any servicer."""

    def echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def echo_call(address: str, payload: bytes) -> Callable[[int], None]:
    channel = grpc.insecure_channel(address)
    call = channel.unary_unary(_ECHO_METHOD)
    return lambda _i: call(payload, timeout=10)


def drive(name: str, call: Callable[[int], None], total_calls: int, concurrency: int) -> LoadResult:
    """Runs `total_calls` calls from `concurrency` closed-loop threads; call(i) gets a unique index."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total_calls))

    def worker() -> None:
        local: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            call(i)
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(name, len(latencies), time.perf_counter() - started, latencies)


def ratio_line(result: LoadResult, baseline: LoadResult) -> str:
    return (
        f"{result.name}: {result.throughput / baseline.throughput:.2f}x the bare echo throughput, "
        f"p99 {result.percentile(0.99) / baseline.percentile(0.99):.1f}x the bare echo p99"
    )


# -- SQLite files ---------------------------------------------------------------------------------------


def copy_database(source: str, target: str) -> str:
    """A consistent copy of a SQLite database through SQLite's backup API (copying the file of a database
    in WAL mode can miss what is still in its -wal file), and its URL."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()
    return f"sqlite:///{target}"


def integrity(url: str) -> str:
    """SQLite's own check of the whole file: "ok", or what is wrong."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    engine.dispose()
    return "; ".join(rows[:5])
