"""Runs a service until SIGTERM: one process, or several serving one gRPC port (`INTEGRITY_GRPC_PROCESSES`,
`<NAME>_GRPC_PROCESSES`), so a service uses more than one core despite Python's one running thread.

Several processes follow grpc's own example (examples/python/multiprocessing in grpc/grpc): the parent
creates no gRPC object (the library's state does not survive a fork); it reserves the port with
SO_REUSEPORT, forks, and each child builds its own app (engine, servicer) and binds the same port with
`grpc.so_reuseport`, so the kernel spreads incoming connections over them. A client keeps its connection,
so one busy client stays on one process; many clients (or a client opening several channels) spread.

Who does what, and why:
- Process 0 starts first, alone: it creates a new, empty database's schema (the others never race a
  migration) and fails the whole start when the app cannot be built. Then the others are forked.
- Only process 0 runs the app's `workers`: the outbox relay, the event consumer, inspections' overdue
  check. They are not CPU-bound work the processes exist for, and one per pod is what the deployment's
  guarantees were measured with: two relays on one outbox race for the same rows (the consumers' inbox
  absorbs a row sent twice, as between replicas, but every extra relay adds duplicates and polling);
  more consumers are the consumer group's business (partitions, replicas), not the gRPC port's; a
  periodic check once a minute is no load. A write answered by another
  process wakes no relay: process 0's finds it at its next poll (INTEGRITY_RELAY_POLL_SECONDS, 0.2 s).
- Every process runs the app's `per_process` workers: caches of its own (scoring's grade counts snapshot
  behind SummarizeGrades), so every process answers from memory.
- Metrics: prometheus_client's multiprocess mode. Every process writes its counters and histograms to
  files in a directory the parent makes (and removes); process 0 serves the one metrics port, summing
  them, so one scrape target per service reports totals (the per-process CPU and memory figures of the
  default collectors are not in it). `integrity_service_serving` is the minimum over live processes.
- Health and reflection are served by every process (each has its own health servicer).
- SIGTERM or SIGINT to the parent is passed to every process; each drains as a single process does
  (NOT_SERVING, workers, in-flight calls within INTEGRITY_GRACE_SECONDS); the parent waits, then kills
  what is left. A process that dies on its own stops the others and the parent exits 1: the supervisor
  (or Kubernetes) starts the service again whole. A child whose parent is killed stops by itself.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Any

from shared import metrics
from shared.grpc_server import ServiceApp, start
from shared.logs import configure_logging
from shared.manifest import ServiceManifest
from shared.settings import Settings
from shared.tracing import configure as configure_tracing

log = logging.getLogger("integrity.server")

_KILL_AFTER_GRACE_SECONDS = 5.0


def serve(manifest: ServiceManifest, build: Callable[[], ServiceApp], settings: Settings) -> None:
    """`python -m services.<name>`: builds the app in each of the processes the settings ask for and
    serves until SIGTERM or SIGINT."""
    count = settings.processes(manifest.name)
    if count == 1:
        run(build(), settings)
        return
    sys.exit(_Processes(manifest, build, settings, count).serve())


def run(
    app: ServiceApp,
    settings: Settings,
    *,
    primary: bool = True,
    reuse_port: bool = False,
    on_serving: Callable[[], None] | None = None,
    parent: int | None = None,
) -> None:
    """Serves until SIGTERM or SIGINT, then shuts down gracefully within settings.grace_seconds. As one of
    several processes: `on_serving` once it serves, and it stops when its `parent` is gone (killed
    without a chance to pass the signal on)."""
    configure_logging(settings.log_level)
    configure_tracing(settings.otlp_endpoint, app.name)
    default_port = app.manifest.default_port
    running = start(
        app if app.settings else replace(app, settings=settings),
        settings.port(app.name, default_port),
        settings.host,
        settings.metrics_port(app.name, default_port) if settings.metrics_enabled and primary else None,
        primary=primary,
        reuse_port=reuse_port,
    )
    if on_serving is not None:
        on_serving()
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal received", extra={"signal": signal.Signals(signum).name})
        stop_requested.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    while not stop_requested.wait(1.0):
        if parent is not None and os.getppid() != parent:
            log.warning("parent process gone; stopping", extra={"service": app.name})
            break
    running.stop(settings.grace_seconds)


class _Processes:
    """The parent of a service's processes: it serves nothing itself."""

    def __init__(
        self, manifest: ServiceManifest, build: Callable[[], ServiceApp], settings: Settings, count: int
    ) -> None:
        self.name = manifest.name
        self.default_port = manifest.default_port
        self.build = build
        self.settings = settings
        self.count = count
        self.context = multiprocessing.get_context("fork")  # the children inherit the imported code
        self.children: list[Any] = []
        self.stop_requested = threading.Event()

    def serve(self) -> int:
        configure_logging(self.settings.log_level)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self.stop_requested.set())
        self._check_ports()
        directory = tempfile.mkdtemp(prefix=f"integrity-{self.name}-metrics-")
        try:
            metrics.use_multiprocess(directory)
            with _reserved(self.settings.host, self.settings.port(self.name, self.default_port)) as port:
                self.settings = self.settings.model_copy(
                    update={"ports": {**self.settings.ports, self.name: port}}
                )
                return self._supervise()
        finally:
            self._stop_children()
            shutil.rmtree(directory, ignore_errors=True)

    def _supervise(self) -> int:
        if not self._fork(0):
            log.error("the first %s process did not start", self.name, extra={"service": self.name})
            return 1
        for index in range(1, self.count):  # each serving before the next starts, and before we say so
            if not self._fork(index):
                log.error("%s process %d did not start", self.name, index, extra={"service": self.name})
                return 1
        log.info(
            "serving from %d processes",
            self.count,
            extra={"service": self.name, "pids": [child.pid for child in self.children]},
        )
        while not self.stop_requested.is_set():
            wait([child.sentinel for child in self.children], timeout=0.5)
            ended = [child for child in self.children if not child.is_alive()]
            if ended and not self.stop_requested.is_set():
                log.error(
                    "a %s process ended (pid %d, exit code %s); stopping the others",
                    self.name,
                    ended[0].pid,
                    ended[0].exitcode,
                    extra={"service": self.name},
                )
                return 1
        return 0

    def _fork(self, index: int) -> bool:
        """Starts process `index` and waits until it serves; False when it ended (or a stop came) first."""
        ready, told = self.context.Pipe(duplex=False)
        child = self.context.Process(
            target=_child,
            args=(self.build, self.settings, index == 0, told, os.getpid()),
            name=f"{self.name}-{index}",
        )
        child.start()
        told.close()
        self.children.append(child)
        while not self.stop_requested.is_set():  # serving, or it ended
            if wait([ready, child.sentinel], timeout=0.5):
                return ready.poll() and child.is_alive()
        return False

    def _stop_children(self) -> None:
        for child in self.children:
            if child.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)
        deadline = self.settings.grace_seconds + _KILL_AFTER_GRACE_SECONDS
        for child in self.children:
            child.join(deadline)
            if child.is_alive():
                log.warning("%s process %d did not stop; killing it", self.name, child.pid)
                child.kill()
                child.join()
            metrics.forget_process(child.pid)
        log.info("stopped", extra={"service": self.name})

    def _check_ports(self) -> None:
        """A port taken by anything else stops the start (SO_REUSEPORT would otherwise share it)."""
        ports = [
            ("port", self.settings.port(self.name, self.default_port)),
            ("mtls_port", self.settings.mtls_port(self.name)),
            ("health_port", self.settings.health_port(self.name)),
        ]
        for kind, port in ports:
            variable = f"{self.name.upper()}_{kind.upper()}"
            if port == 0 and kind != "port":
                raise ValueError(f"{variable}=0: several processes need a fixed port to share")
            if port:
                _free(self.settings.host, port, variable)


def _child(
    build: Callable[[], ServiceApp], settings: Settings, primary: bool, told: Any, parent: int
) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):  # not the parent's handlers
        signal.signal(sig, signal.SIG_DFL)
    configure_logging(settings.log_level)
    run(
        build(),
        settings,
        primary=primary,
        reuse_port=True,
        on_serving=lambda: told.send(True),
        parent=parent,
    )


def _address(host: str, port: int) -> tuple[socket.AddressFamily, Any]:
    family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0]
    return family, address


def _free(host: str, port: int, variable: str) -> None:
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is free
        try:
            probe.bind(address)
        except OSError as e:
            raise RuntimeError(
                f"cannot listen on {host}:{port} ({e.strerror}); set {variable} to another port"
            ) from e


@contextlib.contextmanager
def _reserved(host: str, port: int) -> Iterator[int]:
    """Holds `port` (0: a free one) with SO_REUSEPORT until the processes have bound it, so nothing else
    takes it in between; the socket never listens, so it never receives a connection."""
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if holder.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0:
            raise RuntimeError("this system does not support SO_REUSEPORT: set the processes to 1")
        holder.bind(address)
        yield int(holder.getsockname()[1])
