"""`integrity stack up`: the local broker and every service as child processes, supervised.

A process that dies is started again with backoff (`operations.supervisor`); the rest go on serving. The
local broker keeps its log in memory, so a restarted broker is empty: the outbox relays notice (its new
cluster id) and publish every event again, and the idempotent consumers skip what they had processed.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafka.errors import KafkaError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from operations import catalogue
from operations.schedule import Scheduler, enabled
from operations.supervisor import Backoff, ServiceProcess, StopFlag, stop_all
from shared.settings import Settings
from shared.transport import kafka_options

if TYPE_CHECKING:
    from operations.broker import LocalBroker

STARTUP_TIMEOUT_SECONDS = 120.0
# Enterprises of the demo province loaded on the first start; the environment variable overrides it.
DEFAULT_DEMO_ENTERPRISES = 2000
DEMO_ENTERPRISES_ENV = "INTEGRITY_DEMO_ENTERPRISES"
# The local broker's port; INTEGRITY_LOCAL_BROKER_PORT moves it (tests run stacks side by side).
LOCAL_BROKER_PORT = 9092
LOCAL_BROKER_PORT_ENV = "INTEGRITY_LOCAL_BROKER_PORT"
_KILL_MARGIN_SECONDS = 3.0


def up(settings: Settings, demo_enterprises: int | None = None) -> int:
    """Starts the broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and the services; runs until stopped.

    First loads the demo province into the service databases (see `demo_size`); `demo_enterprises`
    0 skips it. Returns 0 after SIGINT/SIGTERM, 1 when a service failed to start. Once every service is
    serving, a process that dies (the broker too) is started again with backoff.
    """
    from operations.broker import LocalBroker
    from shared.auth import load_private_key  # imported here: the platform modules are only needed to run

    var_dir = settings.var_dir.resolve()
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = StopFlag()
    stop.install()

    # Creates the signing key pair now, so the services never race to generate it.
    try:
        load_private_key(settings)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"integrity stack: cannot load the token signing key: {exc}", file=sys.stderr)
        return 1

    # Every database at the code's schema revision (`integrity db upgrade`), before anything writes to it.
    _upgrade_databases(settings)

    # Before the services start: the import writes into their databases, their relays publish it.
    enterprises = demo_size(settings, demo_enterprises)
    if enterprises:
        _load_demo(settings, enterprises)

    broker: LocalBroker | None = None
    scheduler: Scheduler | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    services = [
        ServiceProcess(s, settings.address(s.name, s.default_port), log_dir / f"{s.name}.log", settings)
        for s in (*catalogue.SERVICES, *catalogue.WEB)
    ]
    try:
        if not bootstrap:
            port = int(os.environ.get(LOCAL_BROKER_PORT_ENV) or LOCAL_BROKER_PORT)
            if _port_in_use(port):
                print(
                    f"integrity stack: port {port} is taken. Stop whatever uses it, or set "
                    "KAFKA_BOOTSTRAP_SERVERS to use a running broker instead of starting one.",
                    file=sys.stderr,
                )
                return 1
            broker = LocalBroker(port=port, log_file=log_dir / "broker.log")
            if (problem := _start_broker(broker)) is not None:
                print(f"integrity stack: {problem}", file=sys.stderr)
                return 1
            bootstrap = broker.bootstrap
        elif (problem := _create_topics(bootstrap, kafka_options(settings))) is not None:
            print(f"integrity stack: {problem}", file=sys.stderr)
            return 1
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "INTEGRITY_VAR_DIR": str(var_dir),  # absolute, so every service agrees on it
            "PYTHONUNBUFFERED": "1",
        }
        for service in services:  # every port first: the console is told where the services are
            env[f"{service.name.upper()}_PORT"] = str(
                settings.port(service.name, service.manifest.default_port)
            )
        for service in services:
            service.start(env)

        problem = _wait_until_serving(services, stop)
        if problem is not None:
            print(f"integrity stack: {problem}", file=sys.stderr, flush=True)
            return 1
        if stop.requested:
            return 0
        if enabled():
            scheduler = Scheduler([s for m in catalogue.SERVICES for s in m.schedules], env, log_dir)
        _print_banner(settings, services, bootstrap, broker is not None, log_dir, scheduler)
        _supervise(services, broker, env, stop, scheduler)
        print("integrity stack: stopping", flush=True)
        return 0
    finally:
        if scheduler is not None:
            scheduler.stop()
        stop_all(services, settings.grace_seconds + _KILL_MARGIN_SECONDS)
        if broker is not None:
            broker.stop()


def _supervise(
    services: list[ServiceProcess],
    broker: LocalBroker | None,
    env: dict[str, str],
    stop: StopFlag,
    scheduler: Scheduler | None = None,
) -> None:
    """Until a stop is requested: whatever died is started again, after its backoff; scheduled work runs."""
    broker_backoff = Backoff()
    while not stop.sleep(0.2):
        if scheduler is not None:
            scheduler.tick()
        if broker is not None and not broker.running:
            if broker_backoff.restart_at is None:
                delay = broker_backoff.died()
                print(
                    f"integrity stack: the local broker exited; starting it again in {delay:.0f} s (it keeps "
                    "nothing: the relays publish every event again)",
                    file=sys.stderr,
                    flush=True,
                )
            elif broker_backoff.due:
                problem = _start_broker(broker)
                if problem is None:
                    broker_backoff.started()
                    print(f"integrity stack: the local broker is back on {broker.bootstrap}", flush=True)
                else:
                    broker_backoff.died()
                    print(f"integrity stack: {problem}", file=sys.stderr, flush=True)
        for service in services:
            if service.exit_code is None:
                continue
            if service.backoff.restart_at is None:
                delay = service.backoff.died()
                print(
                    f"integrity stack: {service.failure()}\nintegrity stack: starting {service.name} again "
                    f"in {delay:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            elif service.backoff.due:
                service.start(env)
                print(f"integrity stack: {service.name} started again", flush=True)


def _upgrade_databases(settings: Settings) -> None:
    """Brings every service database to the code's revision. One that cannot be upgraded is reported and
    left as it is: its service then refuses to start, and is named like any service that cannot."""
    from shared.db import make_engine
    from shared.migrations import SchemaNotCurrent, upgrade

    for service in catalogue.SERVICES:
        engine = make_engine(settings.database_url(service.name))
        try:
            upgrade(engine, service)
        except (SchemaNotCurrent, SQLAlchemyError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"integrity stack: cannot upgrade the {service.name} database: {reason}", file=sys.stderr)
        finally:
            engine.dispose()


def _start_broker(broker: LocalBroker) -> str | None:
    """Starts the local broker and creates the topics; what went wrong, or None."""
    from operations.broker import BrokerUnavailable

    try:
        broker.start()
    except BrokerUnavailable as exc:
        return f"the local broker did not start on {broker.bootstrap} ({exc}); see {broker.log_file}"
    return _create_topics(broker.bootstrap)


def _create_topics(bootstrap: str, kafka: dict[str, Any] | None = None) -> str | None:
    from operations.broker import ensure_topics

    try:
        ensure_topics(bootstrap, catalogue.topics(), kafka=kafka)
    except KafkaError as exc:
        return f"cannot create topics on {bootstrap}: {exc}"
    return None


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


def _wait_until_serving(services: list[ServiceProcess], stop: StopFlag) -> str | None:
    """Waits for every service to report SERVING; returns what went wrong, or None."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    waiting = list(services)
    while waiting and not stop.requested:
        for service in list(waiting):
            if service.exit_code is not None:
                return service.failure()
            if service.serving():
                waiting.remove(service)
        if time.monotonic() > deadline:
            names = ", ".join(f"{s.name} (see {s.log_path})" for s in waiting)
            return f"not serving after {STARTUP_TIMEOUT_SECONDS:.0f}s: {names}"
        if waiting:
            stop.sleep(0.2)
    return None


def _print_banner(
    settings: Settings,
    services: list[ServiceProcess],
    bootstrap: str,
    local_broker: bool,
    log_dir: Path,
    scheduler: Scheduler | None = None,
) -> None:
    broker_kind = "local Tansu, in memory" if local_broker else "external"
    lines = [
        "",
        "integrity stack",
        f"  {'broker':<12} {bootstrap}  ({broker_kind})",
    ]
    for service in services:
        if service.name in catalogue.BY_NAME:
            where = _masked(settings.database_url(service.name))
            lines.append(f"  {service.name:<12} {service.address}  {where}")
        else:
            lines.append(f"  {service.name:<12} http://{_browsable(service.address)}/  (web console)")
    example = settings.address(catalogue.ENTERPRISES.name, catalogue.ENTERPRISES.default_port)
    # Tokens must be signed with this stack's key: name its var directory when it is not the default.
    var_dir = log_dir.parent
    cli = (
        ".venv/bin/integrity"
        if var_dir == Path("var").resolve()
        else f"INTEGRITY_VAR_DIR={var_dir} .venv/bin/integrity"
    )
    if settings.metrics_enabled:
        ports = [settings.metrics_port(s.name, s.manifest.default_port) for s in services]
        lines.append(
            f"  {'metrics':<12} http://{settings.host}:PORT/metrics, PORT {', '.join(map(str, ports))}"
        )
    lines += [f"  {'scheduled':<12} {line}" for line in (scheduler.describe() if scheduler else [])]
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
        from operations.demo.roster import roster

        lines += [
            f"The demo province's inspectors ({len(roster())}, a roster per city: XA001... in Xi'an), so a "
            "plan can be drawn now; an inspector's token:",
            f"  {cli} token --role inspector --subject inspectors/XA001 --region 610100",
            "The demo province's grade-D enterprises in Xi'an, as a CSV (graded within a minute or two):",
            f'  {cli} risk-list export --token "$({cli} token --role regulator --region 610100)" \\',
            "    --filter 'level = GRADE_LEVEL_D'",
        ]
    lines += [
        "Open the console in a browser (local sign-in: pick a role; Chinese first, English at the top):",
        f"  http://{_browsable(services[-1].address)}/",
        "",
        f"ready: {len(catalogue.SERVICES)} services and the console serving; Ctrl-C stops everything",
    ]
    print("\n".join(lines), flush=True)


def _port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _browsable(address: str) -> str:
    """An address a browser on this machine opens: 0.0.0.0 binds everywhere, 127.0.0.1 reaches it."""
    host, _, port = address.rpartition(":")
    return f"{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def _masked(url: str) -> str:
    """A database URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database URL)"
