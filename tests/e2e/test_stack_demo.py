"""The first `integrity stack up` loads a demo province before the services start, and grades appear.

A small province (INTEGRITY_DEMO_ENTERPRISES) keeps it quick; `make run` loads 2000 enterprises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker
from tests.e2e.test_stack import STARTUP_SECONDS, RunningStack, start_stack, stop

pytestmark = pytest.mark.e2e
DEMO_ENTERPRISES = 25


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-demo") / "var"


@pytest.fixture(scope="module")
def demo_stack(broker: LocalBroker, var_dir: Path) -> Iterator[RunningStack]:
    running = start_stack(var_dir, broker.bootstrap, INTEGRITY_DEMO_ENTERPRISES=str(DEMO_ENTERPRISES))
    try:
        running.wait_for_line("ready:", STARTUP_SECONDS)
        yield running
    finally:
        stop(running)


def test_first_start_loads_the_demo_province_and_scoring_grades_it(
    demo_stack: RunningStack, var_dir: Path
) -> None:
    output = demo_stack.text()
    announced = output.index(f"loading a demo province of {DEMO_ENTERPRISES} enterprises")
    assert "--no-demo" in output[announced:]
    assert announced < output.index("\nready:")  # before the services serve

    marker = json.loads((var_dir / "demo" / "loaded.json").read_text(encoding="utf-8"))
    assert marker["enterprises"] == DEMO_ENTERPRISES and marker["events_imported"] > 0
    truth = json.loads((var_dir / "demo" / "truth.json").read_text(encoding="utf-8"))
    assert len(truth["enterprises"]) == DEMO_ENTERPRISES

    # The relays publish what the import wrote; scoring grades it.
    auth = [("authorization", f"Bearer {demo_stack.token('--role', 'system')}")]
    with grpc.insecure_channel(demo_stack.address("scoring")) as channel:
        scoring = scoring_pb2_grpc.ScoringServiceStub(channel)
        graded: set[str] = set()
        deadline = time.monotonic() + 90
        while len(graded) < DEMO_ENTERPRISES // 2 and time.monotonic() < deadline:
            for uscc in set(truth["enterprises"]) - graded:
                try:
                    scoring.GetGrade(
                        scoring_pb2.GetGradeRequest(name=f"enterprises/{uscc}/grade"),
                        metadata=auth,
                        timeout=10,
                    )
                except grpc.RpcError as error:
                    if error.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    continue
                graded.add(uscc)
            time.sleep(0.5)
    assert len(graded) >= DEMO_ENTERPRISES // 2, demo_stack.text()
