"""`integrity stack up`: the local broker and the four services as child processes, supervised.

Each service runs as `python -m services.<name>` in its own process group (so Ctrl-C in the terminal
reaches only this supervisor, which then stops everything in order) and with PR_SET_PDEATHSIG, so a
service never outlives a supervisor that was killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka.errors import KafkaError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from operations import catalogue
from shared.manifest import ServiceManifest
from shared.settings import Settings

STARTUP_TIMEOUT_SECONDS = 120.0
# Enterprises of the demo province loaded on the first start; the environment variable overrides it.
DEFAULT_DEMO_ENTERPRISES = 2000
DEMO_ENTERPRISES_ENV = "INTEGRITY_DEMO_ENTERPRISES"
LOCAL_BROKER_PORT = 9092
_PR_SET_PDEATHSIG = 1
_KILL_MARGIN_SECONDS = 3.0


_libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not between fork and exec


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when the supervisor dies."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServiceProcess:
    """One service process with its log file."""

    def __init__(self, manifest: ServiceManifest, address: str, log_path: Path) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.address = address
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                [sys.executable, "-m", self.manifest.package],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_die_with_parent,
            )

    @property
    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # the whole group: anything it spawned too
                os.killpg(self.popen.pid, signum)

    def serving(self) -> bool:
        """True once the service answers SERVING on the gRPC health protocol."""
        with grpc.insecure_channel(self.address) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1.0
                )
            except grpc.RpcError:
                return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def failure(self) -> str:
        return f"{self.name} exited with code {self.exit_code}; see {self.log_path}{_tail(self.log_path)}"


def up(settings: Settings, demo_enterprises: int | None = None) -> int:
    """Starts the broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and the services; runs until stopped.

    First loads the demo province into the service databases (see `demo_size`); `demo_enterprises`
    0 skips it. Returns 0 after SIGINT/SIGTERM, 1 when a service failed to start or died.
    """
    from operations.broker import BrokerUnavailable, LocalBroker, ensure_topics
    from shared.auth import load_private_key  # imported here: the platform modules are only needed to run

    var_dir = settings.var_dir.resolve()
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())

    # Creates the signing key pair now, so the four services never race to generate it.
    try:
        load_private_key(settings)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"integrity stack: cannot load the token signing key: {exc}", file=sys.stderr)
        return 1

    # Before the services start: the import writes into their databases, their relays publish it.
    enterprises = demo_size(settings, demo_enterprises)
    if enterprises:
        _load_demo(settings, enterprises)

    broker: LocalBroker | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    services = [
        ServiceProcess(s, settings.address(s.name, s.default_port), log_dir / f"{s.name}.log")
        for s in catalogue.SERVICES
    ]
    try:
        if not bootstrap:
            if _port_in_use(LOCAL_BROKER_PORT):
                print(
                    f"integrity stack: port {LOCAL_BROKER_PORT} is taken. Stop whatever uses it, or set "
                    "KAFKA_BOOTSTRAP_SERVERS to use a running broker instead of starting one.",
                    file=sys.stderr,
                )
                return 1
            broker = LocalBroker(port=LOCAL_BROKER_PORT, log_file=log_dir / "broker.log")
            try:
                broker.start()
            except BrokerUnavailable as exc:
                print(
                    f"integrity stack: the local broker did not start on {broker.bootstrap} ({exc}); "
                    f"see {log_dir / 'broker.log'}",
                    file=sys.stderr,
                )
                return 1
            bootstrap = broker.bootstrap
        try:
            ensure_topics(bootstrap, catalogue.topics())
        except KafkaError as exc:
            print(f"integrity stack: cannot create topics on {bootstrap}: {exc}", file=sys.stderr)
            return 1
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "INTEGRITY_VAR_DIR": str(var_dir),  # absolute, so every service agrees on it
            "PYTHONUNBUFFERED": "1",
        }
        for service in services:
            env[f"{service.name.upper()}_PORT"] = str(
                settings.port(service.name, service.manifest.default_port)
            )
            service.start(env)

        problem = _wait_until_serving(services, stop_requested)
        if problem is not None:
            print(f"integrity stack: {problem}", file=sys.stderr, flush=True)
            return 1
        if stop_requested.is_set():
            return 0
        _print_banner(settings, services, bootstrap, broker is not None, log_dir)

        while not stop_requested.wait(0.2):
            died = next((s for s in services if s.exit_code is not None), None)
            if died is not None:
                print(f"integrity stack: {died.failure()}", file=sys.stderr, flush=True)
                return 1
            if broker is not None and not broker.running:
                print(
                    f"integrity stack: the local broker exited; see {log_dir / 'broker.log'}", file=sys.stderr
                )
                return 1
        print("integrity stack: stopping", flush=True)
        return 0
    finally:
        _stop_all(services, settings.grace_seconds + _KILL_MARGIN_SECONDS)
        if broker is not None:
            broker.stop()


def demo_size(settings: Settings, requested: int | None) -> int:
    """How many demo enterprises to load now: as requested (0: none); otherwise, on the first start only
    (no var/demo/loaded.json yet), DEMO_ENTERPRISES_ENV when set (0: none), else DEFAULT_DEMO_ENTERPRISES."""
    from operations.demo.load import marker_path

    if requested is not None:
        return max(0, requested)
    if marker_path(settings).exists():
        return 0
    configured = os.environ.get(DEMO_ENTERPRISES_ENV, "").strip()
    try:
        return max(0, int(configured)) if configured else DEFAULT_DEMO_ENTERPRISES
    except ValueError:
        print(
            f"integrity stack: {DEMO_ENTERPRISES_ENV}={configured!r} is not a number; no demo",
            file=sys.stderr,
        )
        return 0


def _load_demo(settings: Settings, enterprises: int) -> None:
    """Imports a demo province of `enterprises` before the services start. A failure is reported and the
    stack starts anyway: the demo is a convenience."""
    from operations.commands.demo import progress_bar
    from operations.demo.load import Province, load_province

    print(
        f"integrity stack: loading a demo province of {enterprises:,} enterprises into the service databases "
        f"(first start only; skip with `integrity stack up --no-demo` or {DEMO_ENTERPRISES_ENV}=0)",
        flush=True,
    )
    refused: list[str] = []
    try:
        with progress_bar(enterprises, "demo", disabled=not sys.stderr.isatty()) as advance:
            summary = load_province(
                settings,
                Province(enterprises),
                report=lambda where, message: refused.append(f"{where}: {message}"),
                on_progress=advance,
            )
    except Exception as exc:
        print(f"integrity stack: the demo province could not be loaded: {exc!r}", file=sys.stderr)
        return
    for line in refused[:5]:
        print(f"integrity stack: demo event refused: {line}", file=sys.stderr)
    print(f"integrity stack: demo province: {summary.describe()}", flush=True)


def _wait_until_serving(services: list[ServiceProcess], stop_requested: threading.Event) -> str | None:
    """Waits for every service to report SERVING; returns what went wrong, or None."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    waiting = list(services)
    while waiting and not stop_requested.is_set():
        for service in list(waiting):
            if service.exit_code is not None:
                return service.failure()
            if service.serving():
                waiting.remove(service)
        if time.monotonic() > deadline:
            names = ", ".join(f"{s.name} (see {s.log_path})" for s in waiting)
            return f"not serving after {STARTUP_TIMEOUT_SECONDS:.0f}s: {names}"
        if waiting:
            stop_requested.wait(0.2)
    return None


def _stop_all(services: list[ServiceProcess], timeout: float) -> None:
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


def _print_banner(
    settings: Settings, services: list[ServiceProcess], bootstrap: str, local_broker: bool, log_dir: Path
) -> None:
    broker_kind = "local Tansu, in memory" if local_broker else "external"
    lines = [
        "",
        "integrity stack",
        f"  {'broker':<12} {bootstrap}  ({broker_kind})",
    ]
    for service in services:
        lines.append(
            f"  {service.name:<12} {service.address}  {_masked(settings.database_url(service.name))}"
        )
    example = settings.address(catalogue.ENTERPRISES.name, catalogue.ENTERPRISES.default_port)
    # Tokens must be signed with this stack's key: name its var directory when it is not the default.
    var_dir = log_dir.parent
    cli = (
        ".venv/bin/integrity"
        if var_dir == Path("var").resolve()
        else f"INTEGRITY_VAR_DIR={var_dir} .venv/bin/integrity"
    )
    lines += [
        f"  {'logs':<12} {log_dir}/<name>.log",
        "",
        "Get a token:",
        f"  {cli} token --role regulator --region 610100",
        "Call a service (server reflection, no .proto files needed):",
        f"  TOKEN=$({cli} token --role system)",
        "  node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \\",
        '    -H "authorization: Bearer $TOKEN" \\',
        '    -d \'{"name": "enterprises/91350100M000100Y43"}\' \\',
        f"    http://{example}/integrity.enterprises.v1.EnterpriseService/GetEnterprise",
    ]
    from operations.demo.load import marker_path

    if marker_path(settings).is_file():
        lines += [
            "The demo province's grade-D enterprises in Xi'an, as a CSV (graded within a minute or two):",
            f'  {cli} risk-list export --token "$({cli} token --role regulator --region 610100)" \\',
            "    --filter 'level = GRADE_LEVEL_D'",
        ]
    lines += ["", f"ready: {len(services)} services serving; Ctrl-C stops everything"]
    print("\n".join(lines), flush=True)


def _port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _masked(url: str) -> str:
    """A database URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database URL)"


def _tail(path: Path, lines: int = 15) -> str:
    """The end of a log file, indented, for an error message."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"\n    | {line}" for line in text)
