"""Supervising child processes: a stop flag that is safe to set from a signal handler, and restarts with
backoff, so one crashed process is started again instead of taking the whole stack down.

Each service runs as `python -m <its package>` in its own process group (so Ctrl-C in the terminal reaches
only the supervisor, which then stops everything in order) and with PR_SET_PDEATHSIG, so a service never
outlives a supervisor that was killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared import transport
from shared.manifest import ServiceManifest, WebManifest
from shared.settings import Settings

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not between fork and exec

FIRST_RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 30.0
# A child that ran this long before dying is forgiven its earlier crashes: the next restart is quick.
STABLE_AFTER_SECONDS = 60.0


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when the supervisor dies."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class StopFlag:
    """Set by SIGINT/SIGTERM. The handler only assigns an attribute: a handler that takes a lock (as
    threading.Event.set does) deadlocks when the signal arrives while the main thread holds that lock."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def sleep(self, seconds: float) -> bool:
        """Sleeps up to `seconds`, in short steps; True when a stop was requested meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return self.requested


class Backoff:
    """When to start a child again after it died: 1, 2, 4 ... 30 s after repeated quick deaths."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.started_at = time.monotonic()
        self.restart_at: float | None = None

    def started(self) -> None:
        self.started_at = time.monotonic()
        self.restart_at = None

    def died(self) -> float:
        """Schedules the restart; returns its delay in seconds."""
        ran = time.monotonic() - self.started_at
        if ran >= STABLE_AFTER_SECONDS:
            self.delay = 0.0
        self.delay = min(max(self.delay * 2, FIRST_RESTART_DELAY_SECONDS), MAX_RESTART_DELAY_SECONDS)
        self.restart_at = time.monotonic() + self.delay
        return self.delay

    @property
    def due(self) -> bool:
        return self.restart_at is not None and time.monotonic() >= self.restart_at


class ServiceProcess:
    """One service process with its log file (appended to across restarts)."""

    def __init__(
        self,
        manifest: ServiceManifest | WebManifest,
        address: str,
        log_path: Path,
        settings: Settings | None = None,
    ) -> None:
        self.manifest = manifest
        self.settings = settings  # how to reach it (TLS when the settings say so)
        self.name = manifest.name
        self.address = address
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None
        self.backoff = Backoff()
        self.starts = 0

    def start(self, env: dict[str, str]) -> None:
        mode = "ab" if self.starts else "wb"
        with self.log_path.open(mode) as log:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                [sys.executable, "-m", self.manifest.package],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_die_with_parent,
            )
        self.starts += 1
        self.backoff.started()

    @property
    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # the whole group: anything it spawned too
                os.killpg(self.popen.pid, signum)

    def serving(self) -> bool:
        """True once the service answers SERVING on the gRPC health protocol (a web process: 200 on its
        health path)."""
        if isinstance(self.manifest, WebManifest):
            return _http_ok(self.address, self.manifest.health_path)
        settings = self.settings
        opened = (
            transport.channel(settings, self.address) if settings else grpc.insecure_channel(self.address)
        )
        with opened as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1.0
                )
            except grpc.RpcError:
                return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def failure(self) -> str:
        return f"{self.name} exited with code {self.exit_code}; see {self.log_path}{tail(self.log_path)}"


def _http_ok(address: str, path: str) -> bool:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=1.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def stop_all(services: list[ServiceProcess], timeout: float) -> None:
    """SIGTERM to all (graceful shutdown in parallel), then SIGKILL whatever is left after `timeout`."""
    for service in services:
        service.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for service in services:
        if service.popen is None:
            continue
        try:
            service.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"integrity stack: {service.name} did not stop in time; killing it", file=sys.stderr)
            service.signal(signal.SIGKILL)
            service.popen.wait()


def tail(path: Path, lines: int = 15) -> str:
    """The end of a log file, indented, for an error message."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"\n    | {line}" for line in text)
