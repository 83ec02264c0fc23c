"""The supervisor behind `make run` under faults: a killed service or broker is started again and nothing
acknowledged is lost; signals to the whole process group stop it promptly however many arrive."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import grpc
import pytest

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker
from tests.e2e.test_stack import (
    STARTUP_SECONDS,
    STOP_SECONDS,
    RunningStack,
    descendants,
    start_stack,
    still_alive,
    stop,
    wait_collecting_descendants,
)
from tests.helpers import quiet_port, valid_uscc, wait_until

pytestmark = pytest.mark.e2e


def service_pid(stack: RunningStack, service: str) -> int:
    """The pid of the process running `python -m services.<service>` under the stack."""
    for pid, _ in descendants(stack.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"services.{service}".encode() in command:
            return pid
    raise AssertionError(f"no {service} process under the stack:\n{stack.text()}")


def broker_pid(stack: RunningStack) -> int:
    for pid, _ in descendants(stack.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"tansu" in command:
            return pid
    raise AssertionError(f"no broker process under the stack:\n{stack.text()}")


def register(stack: RunningStack, token: str, count: int) -> list[str]:
    usccs = [valid_uscc(9000 + n, "610112") for n in range(count)]
    with grpc.insecure_channel(stack.address("enterprises")) as channel:
        stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
        for uscc in usccs:
            stub.CreateEnterprise(
                enterprises_pb2.CreateEnterpriseRequest(
                    enterprise=enterprises_pb2.Enterprise(
                        uscc=uscc,
                        display_name=f"测试企业 {uscc[-6:]}",
                        region_code="610112",
                        industry_code="F5265",
                        subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
    return usccs


def graded(stack: RunningStack, token: str, usccs: list[str]) -> int:
    count = 0
    with grpc.insecure_channel(stack.address("scoring")) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        for uscc in usccs:
            try:
                stub.GetGrade(
                    scoring_pb2.GetGradeRequest(name=f"enterprises/{uscc}/grade"),
                    metadata=[("authorization", f"Bearer {token}")],
                    timeout=5,
                )
                count += 1
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                    raise
    return count


def test_a_killed_service_is_started_again_and_the_rest_keep_serving(
    broker: LocalBroker, tmp_path: Path
) -> None:
    stack = start_stack(tmp_path / "var", broker.bootstrap)
    try:
        stack.wait_for_line("ready:", STARTUP_SECONDS)
        token = stack.token("--role", "system")
        killed = service_pid(stack, "scoring")
        os.kill(killed, signal.SIGKILL)
        usccs = register(stack, token, 5)  # the enterprises service never noticed
        stack.wait_for_line("integrity stack: scoring started again", 60)
        assert service_pid(stack, "scoring") != killed
        wait_until(lambda: graded(stack, token, usccs) == len(usccs), timeout=120, message=stack.text())
        assert stack.process.poll() is None  # the stack stayed up throughout
    finally:
        stop(stack)


def test_events_survive_a_restart_of_the_memory_broker(tmp_path: Path) -> None:
    """Scoring paused, enterprises created (their events published), the local broker killed: the
    supervisor starts it again (empty), the relays publish everything again, and every enterprise is
    graded."""
    stack = start_stack(
        tmp_path / "var",
        "",  # no external broker: the stack runs its own Tansu
        INTEGRITY_LOCAL_BROKER_PORT=str(quiet_port()),
        INTEGRITY_RELAY_MAX_BACKOFF_SECONDS="1",
    )
    try:
        stack.wait_for_line("ready:", STARTUP_SECONDS)
        token = stack.token("--role", "system")
        scoring = service_pid(stack, "scoring")
        os.kill(scoring, signal.SIGSTOP)
        try:
            usccs = register(stack, token, 20)
            time.sleep(2)  # the relay publishes them; scoring, stopped, reads nothing
            os.kill(broker_pid(stack), signal.SIGKILL)
            stack.wait_for_line("integrity stack: the local broker is back", 60)
        finally:
            os.kill(scoring, signal.SIGCONT)
        wait_until(lambda: graded(stack, token, usccs) == len(usccs), timeout=180, message=stack.text())
    finally:
        stop(stack)


def test_signals_to_the_whole_process_group_while_busy_stop_everything(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """`kill -- -<pgid>` of `make run`, repeated: the supervisor (and everything it started) stops, and
    never deadlocks in its signal handler."""
    busy = start_stack(tmp_path / "var", broker.bootstrap, new_session=True)
    try:
        busy.wait_for_line("ready:", STARTUP_SECONDS)
        token = busy.token("--role", "system")
        threading.Thread(target=_keep_busy, args=(busy, token), daemon=True).start()
        running = descendants(busy.process.pid)
        group = os.getpgid(busy.process.pid)
        for _ in range(30):  # a burst, as a shell's `kill` loop or an impatient operator would send
            os.killpg(group, signal.SIGTERM)
            time.sleep(0.005)
        os.killpg(group, signal.SIGINT)
        seen = running | wait_collecting_descendants(busy, STOP_SECONDS)
    finally:
        stop(busy)
    assert not still_alive(seen), busy.text()


def _keep_busy(stack: RunningStack, token: str) -> None:
    """Calls the services until they go away, so signals land while requests are in flight."""
    with grpc.insecure_channel(stack.address("enterprises")) as channel:
        stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
        for round_number in range(100_000):
            name = f"enterprises/{valid_uscc(20000 + round_number % 1000, '610112')}"
            try:
                stub.GetEnterprise(
                    enterprises_pb2.GetEnterpriseRequest(name=name),
                    metadata=[("authorization", f"Bearer {token}")],
                    timeout=2,
                )
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    return  # the service went away: the stack is stopping
