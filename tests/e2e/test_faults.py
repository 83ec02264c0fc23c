"""kill -9 of every service and of the broker in the middle of a large import under `integrity stack up`,
with every grade compared against an uninterrupted run.

A demo province of a few hundred enterprises (some 5,000 events) is imported while the stack runs:
- during the import, scoring is paused and the enterprises, complaints and inspections services are each
  killed with SIGKILL (the import goes on writing their databases; the supervisor starts them again);
- once their relays have published everything (acknowledged, unconsumed: the events exist only in the
  memory broker now), the broker is killed, and scoring resumes;
- while scoring catches up, it is killed, and later the broker once more.

Then nothing may be lost (every event of the source outboxes is in scoring's history), nothing may be
wrong (every grade, read over gRPC, equals the grade an uninterrupted run computes from the same events:
the scoring domain grading each enterprise's events in one go, without Kafka or crashes), no call may
have been INTERNAL, and nothing may be written twice. The figures are printed
(`pytest -s tests/e2e/test_faults.py`).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.features import HISTORY_TYPES
from services.scoring.domain.grading import replay
from shared.events import Event, decode
from tests.e2e.test_stack import REPO, STARTUP_SECONDS, RunningStack, start_stack, stop
from tests.e2e.test_supervisor import broker_pid, service_pid
from tests.helpers import quiet_port, wait_until

pytestmark = pytest.mark.e2e

ENTERPRISES = 200
SOURCES = ("enterprises", "complaints", "inspections")
CLI = (sys.executable, "-m", "operations.cli")


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("province")
    out = directory / "province.jsonl"
    subprocess.run(
        [*CLI, "demo", "seed", f"--enterprises={ENTERPRISES}", "--seed=13", f"--out={out}", "--no-progress"],
        env={**os.environ, "INTEGRITY_VAR_DIR": str(directory / "var")},
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return out


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    """Reads a service's SQLite database beside the running service (WAL: readers never block it)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return connection.execute(sql).fetchall()


def source_events(var: Path) -> dict[str, bytes]:
    """Every event the sources staged that scoring keeps: id -> the serialized event."""
    found: dict[str, bytes] = {}
    for service in SOURCES:
        for event_id, value in query(var / f"{service}.db", "SELECT event_id, value FROM outbox ORDER BY id"):
            event = decode(value)  # type: ignore[arg-type]
            if event.WhichOneof("payload") in HISTORY_TYPES:
                found[str(event_id)] = value  # type: ignore[assignment]
    return found


def unpublished(var: Path) -> int:
    return sum(
        int(query(var / f"{s}.db", "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0])  # type: ignore[call-overload]
        for s in SOURCES
    )


def in_history(var: Path) -> set[str]:
    return {str(row[0]) for row in query(var / "scoring.db", "SELECT event_id FROM scoring_events")}


def uninterrupted(events: dict[str, bytes]) -> dict[str, tuple[int, int, bool]]:
    """The grade each enterprise's events give when graded in one go, in the order they happened: the
    scoring domain's own replay, with no Kafka, no process and no crash in between."""
    policy = load_policy()
    histories: dict[str, list[Event]] = defaultdict(list)
    for value in events.values():
        event = decode(value)
        histories[event.subject].append(event)
    grades = {}
    for uscc, history in histories.items():
        if any(event.WhichOneof("payload") == "enterprise_registered" for event in history):
            grade, _ = replay(policy, history)
            assert grade is not None
            grades[uscc] = (int(grade.level), grade.score, grade.provisional)
    return grades


def graded_over_grpc(
    stack: RunningStack, usccs: list[str]
) -> Iterator[tuple[str, tuple[int, int, bool] | str]]:
    token = stack.token("--role", "system")
    with grpc.insecure_channel(stack.address("scoring")) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        for uscc in usccs:
            try:
                grade = stub.GetGrade(
                    scoring_pb2.GetGradeRequest(name=f"enterprises/{uscc}/grade"),
                    metadata=[("authorization", f"Bearer {token}")],
                    timeout=10,
                ).grade
            except grpc.RpcError as error:
                yield uscc, error.code().name
            else:
                yield uscc, (int(grade.level), int(grade.score), bool(grade.provisional))


def internal_responses(var: Path) -> int:
    count = 0
    for log in (var / "log").glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"code": "INTERNAL"' in line or '"code":"INTERNAL"' in line:
                count += 1
    return count


def wait_for_lines(stack: RunningStack, prefix: str, count: int, timeout: float) -> None:
    wait_until(
        lambda: sum(line.startswith(prefix) for line in stack.output) >= count,
        timeout=timeout,
        interval=0.2,
        message=f"fewer than {count} lines '{prefix}':\n{stack.text()[-4000:]}",
    )


@pytest.mark.timeout(600)  # typically 2-3 minutes; the margin is for a machine shared with others
def test_kill_9_of_every_service_and_the_broker_mid_import_loses_nothing(
    province: Path, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    stack = start_stack(
        var,
        "",  # its own Tansu broker, in memory: the broker the relays must outlive
        INTEGRITY_LOCAL_BROKER_PORT=str(quiet_port()),
        INTEGRITY_RELAY_MAX_BACKOFF_SECONDS="1",
    )
    kills: list[str] = []
    started = time.monotonic()

    def kill(pid: int, what: str) -> None:
        os.kill(pid, signal.SIGKILL)
        kills.append(f"{time.monotonic() - started:5.1f}s {what}")

    try:
        stack.wait_for_line("ready:", STARTUP_SECONDS)
        scoring = service_pid(stack, "scoring")
        os.kill(scoring, signal.SIGSTOP)
        try:
            importing = subprocess.Popen(
                [*CLI, "import", str(province), "--no-progress"],
                env=stack.env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for service in SOURCES:  # each killed while the import writes into its database
                wait_until(lambda s=service: query(var / f"{s}.db", "SELECT count(*) FROM outbox")[0][0], 60)
                kill(service_pid(stack, service), f"kill -9 {service} (import running)")
            output, _ = importing.communicate(timeout=300)
            assert importing.returncode == 0, output
            assert "0 rejected" in output, output
            wait_for_lines(stack, "integrity stack: inspections started again", 1, 60)
            wait_until(
                lambda: unpublished(var) == 0, timeout=120, message="the relays did not publish it all"
            )
            # Published and acknowledged, consumed by no one: now only the memory broker holds them.
            kill(broker_pid(stack), "kill -9 broker (all published, none consumed)")
            wait_for_lines(stack, "integrity stack: the local broker is back", 1, 60)
        finally:
            os.kill(scoring, signal.SIGCONT)

        expected = source_events(var)
        wait_until(lambda: len(in_history(var)) >= len(expected) * 0.3, timeout=180, interval=0.2)
        kill(service_pid(stack, "scoring"), f"kill -9 scoring ({len(in_history(var))} of {len(expected)} in)")
        wait_for_lines(stack, "integrity stack: scoring started again", 1, 60)
        wait_until(lambda: len(in_history(var)) >= len(expected) * 0.6, timeout=180, interval=0.2)
        kill(broker_pid(stack), f"kill -9 broker ({len(in_history(var))} of {len(expected)} in)")
        wait_for_lines(stack, "integrity stack: the local broker is back", 2, 60)
        wait_until(
            lambda: set(expected) <= in_history(var),
            timeout=300,
            interval=0.5,
            message=f"scoring never caught up:\n{stack.text()[-4000:]}",
        )

        caught_up = time.monotonic() - started
        lost = set(expected) - in_history(var)
        baseline = uninterrupted(expected)
        served = dict(graded_over_grpc(stack, sorted(baseline)))
        wrong = {uscc: (served[uscc], grade) for uscc, grade in baseline.items() if served[uscc] != grade}
        history_rows = int(query(var / "scoring.db", "SELECT count(*) FROM scoring_events")[0][0])  # type: ignore[call-overload]
        processed = query(
            var / "scoring.db", "SELECT count(*), count(DISTINCT event_id) FROM processed_events"
        )[0]
        figures = {
            "enterprises": len(baseline),
            "events": len(expected),
            "kills": kills,
            "events lost": len(lost),
            "grades different": len(wrong),
            "INTERNAL responses": internal_responses(var),
            "double writes": (history_rows - len(expected)) + (int(processed[0]) - int(processed[1])),  # type: ignore[call-overload]
            "seconds until caught up": round(caught_up),
            "seconds in all": round(time.monotonic() - started),
        }
        print("\nfault suite:", json.dumps(figures, ensure_ascii=False, indent=2))
        assert len(baseline) == ENTERPRISES
        assert not lost, f"{len(lost)} events lost"
        assert not wrong, (
            f"{len(wrong)} grades differ from the uninterrupted run, e.g. {list(wrong.items())[:3]}"
        )
        assert figures["INTERNAL responses"] == 0
        assert figures["double writes"] == 0
        assert stack.process.poll() is None  # the stack stayed up throughout
    finally:
        stop(stack)
