"""`integrity stack up` end to end: start it, call it over gRPC and buf curl, stop it, leave nothing behind.

The stack runs as a real subprocess against the session's Tansu broker (KAFKA_BOOTSTRAP_SERVERS set, so it
starts no broker of its own) with free ports and its own var directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker
from operations.catalogue import BY_NAME as SERVICES
from operations.catalogue import WEB
from tests.helpers import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BUF = REPO / "node_modules" / ".bin" / "buf"
USCC = "91350100M000100Y43"
STARTUP_SECONDS = 180
STOP_SECONDS = 60


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    env: dict[str, str]
    ports: dict[str, int]
    output: list[str] = field(default_factory=list)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    web_metrics_ports: dict[str, int] = field(default_factory=dict)  # the console's

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def text(self) -> str:
        return "".join(self.output)

    def wait_for_line(self, prefix: str, timeout: float) -> None:
        """Waits for a line that starts with `prefix` (a prefix: "ready" is also in "already present")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.output):
                return
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread drain the last lines
                pytest.fail(f"stack exited with {self.process.returncode} before '{prefix}':\n{self.text()}")
            time.sleep(0.1)
        pytest.fail(f"no '{prefix}' within {timeout}s:\n{self.text()}")

    def token(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "operations.cli", "token", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()


def start_stack(
    var_dir: Path, bootstrap: str, *, new_session: bool = False, **extra_env: str
) -> RunningStack:
    """`new_session`: the stack leads a process group of its own (as `make run` in a terminal does)."""
    ports = {name: free_port() for name in (*SERVICES, *(web.name for web in WEB))}
    metrics_ports = {service: free_port() for service in SERVICES}
    web_metrics_ports = {web.name: free_port() for web in WEB}
    extra_env = {"INTEGRITY_DEMO_ENTERPRISES": "0", **extra_env}  # no demo province unless asked for
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        INTEGRITY_VAR_DIR=str(var_dir),
        INTEGRITY_GRACE_SECONDS="3",
        **{f"{service.upper()}_PORT": str(port) for service, port in ports.items()},
        **{
            f"{name.upper()}_METRICS_PORT": str(port)
            for name, port in (*metrics_ports.items(), *web_metrics_ports.items())
        },
        **extra_env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "operations.cli", "stack", "up"],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )
    stack = RunningStack(
        process, env, ports, metrics_ports=metrics_ports, web_metrics_ports=web_metrics_ports
    )
    threading.Thread(target=_collect_output, args=(process, stack.output), daemon=True).start()
    return stack


def _collect_output(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state is fields[0], starttime fields[19]
    return None if fields[0] in ("Z", "X") else fields[19]


def descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every live descendant of `root`, found by scanning /proc for parent pids."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[tuple[int, str]] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        started = _start_time(pid)
        if started is not None:
            found.add((pid, started))
        todo += children.get(pid, [])
    return found


def wait_collecting_descendants(stack: RunningStack, timeout: float) -> set[tuple[int, str]]:
    """Waits for the supervisor to exit, remembering every descendant seen on the way."""
    seen: set[tuple[int, str]] = set()
    deadline = time.monotonic() + timeout
    while stack.process.poll() is None:
        if time.monotonic() > deadline:
            stack.process.kill()
            pytest.fail(f"stack did not exit within {timeout}s:\n{stack.text()}")
        seen |= descendants(stack.process.pid)
        time.sleep(0.05)
    return seen


def still_alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {(pid, started) for pid, started in processes if _start_time(pid) == started}


def stop(stack: RunningStack) -> None:
    """Safety net for a failed test: no stack outlives the module."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


@pytest.fixture(scope="module")
def stack(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("stack") / "var", broker.bootstrap)
    try:
        running.wait_for_line("ready:", STARTUP_SECONDS)
        yield running
    finally:
        stop(running)


@pytest.fixture(scope="module")
def system_token(stack: RunningStack) -> str:
    return stack.token("--role", "system")


@pytest.fixture(scope="module")
def enterprise(stack: RunningStack, system_token: str) -> enterprises_pb2.Enterprise:
    with grpc.insecure_channel(stack.address("enterprises")) as channel:
        response = enterprises_pb2_grpc.EnterpriseServiceStub(channel).CreateEnterprise(
            enterprises_pb2.CreateEnterpriseRequest(
                enterprise=enterprises_pb2.Enterprise(
                    uscc=USCC,
                    display_name="西安市雁塔区诚信加油站",
                    region_code="610112",
                    industry_code="F5265",
                    subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
                    size_class=enterprises_pb2.SIZE_CLASS_SMALL,
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=[("authorization", f"Bearer {system_token}")],
            timeout=10,
        )
    return response.enterprise


def test_a_new_enterprise_gets_a_provisional_grade(
    stack: RunningStack, system_token: str, enterprise: enterprises_pb2.Enterprise
) -> None:
    auth = [("authorization", f"Bearer {system_token}")]
    assert enterprise.name == f"enterprises/{USCC}"
    with grpc.insecure_channel(stack.address("enterprises")) as channel:
        got = enterprises_pb2_grpc.EnterpriseServiceStub(channel).GetEnterprise(
            enterprises_pb2.GetEnterpriseRequest(name=enterprise.name), metadata=auth, timeout=10
        )
    assert got.enterprise.uscc == USCC
    assert got.enterprise.region_code == "610112"

    # The grade arrives through Kafka: enterprises' outbox -> topic -> scoring's consumer group.
    with grpc.insecure_channel(stack.address("scoring")) as channel:
        scoring = scoring_pb2_grpc.ScoringServiceStub(channel)
        request = scoring_pb2.GetGradeRequest(name=f"{enterprise.name}/grade")
        deadline = time.monotonic() + 90
        while True:
            try:
                grade = scoring.GetGrade(request, metadata=auth, timeout=10).grade
                break
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    assert grade.level == scoring_pb2.GRADE_LEVEL_B
    assert grade.provisional
    assert "NO_HISTORY" in [reason.code for reason in grade.reasons]


def test_every_service_process_serves_its_own_metrics(
    stack: RunningStack, enterprise: enterprises_pb2.Enterprise
) -> None:
    """Each process exposes its own figures only: its outbox, its RPCs (CreateEnterprise in enterprises)."""
    for service, port in stack.metrics_ports.items():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        assert f'integrity_outbox_backlog{{service="{service}"}}' in text
        assert f'integrity_service_serving{{service="{service}"}} 1.0' in text
        others = set(SERVICES) - {service}
        assert not any(f'integrity_outbox_backlog{{service="{other}"}}' in text for other in others)
        created = 'grpc_method="CreateEnterprise",grpc_service="integrity.enterprises.v1.EnterpriseService"'
        assert (created in text) == (service == "enterprises")
    for web, port in stack.web_metrics_ports.items():  # the console: its requests (the stack's /healthz)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        assert 'integrity_console_requests_total{code="200",method="GET",route="/healthz"}' in text, web
        assert "integrity_outbox_backlog{" not in text


def test_buf_curl_reads_an_enterprise_through_reflection(
    stack: RunningStack, system_token: str, enterprise: enterprises_pb2.Enterprise
) -> None:
    if not BUF.exists():
        pytest.skip(f"{BUF} is missing: `make test` installs it with npm")
    result = subprocess.run(
        [
            str(BUF),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "-H",
            f"authorization: Bearer {system_token}",
            "-d",
            json.dumps({"name": enterprise.name}),
            f"http://{stack.address('enterprises')}/integrity.enterprises.v1.EnterpriseService/GetEnterprise",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["enterprise"]["uscc"] == USCC
    assert body["enterprise"]["subjectType"] == "SUBJECT_TYPE_TRADE_INSTRUMENT_USER"


def test_sigterm_stops_every_process(stack: RunningStack) -> None:
    # Runs last in this module: it stops the shared stack.
    running = descendants(stack.process.pid)
    assert len(running) >= len(SERVICES), stack.text()

    stack.process.send_signal(signal.SIGTERM)
    seen = running | wait_collecting_descendants(stack, STOP_SECONDS)

    assert stack.process.returncode == 0, stack.text()
    assert not still_alive(seen)


def test_a_service_that_cannot_start_is_named_and_nothing_is_left(
    broker: LocalBroker, tmp_path: Path
) -> None:
    failing = start_stack(
        tmp_path / "var",
        broker.bootstrap,
        SCORING_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x",
    )
    try:
        seen = wait_collecting_descendants(failing, STARTUP_SECONDS)
    finally:
        stop(failing)
    time.sleep(0.2)  # the reader thread drains the last lines

    assert failing.process.returncode != 0
    assert "scoring exited" in failing.text()
    assert str(tmp_path / "var" / "log" / "scoring.log") in failing.text()
    assert seen, "the services were never seen running"
    assert not still_alive(seen)
