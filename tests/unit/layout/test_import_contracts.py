"""The import contracts of docs/architecture.md hold, and they would catch a back-edge: the platform
importing a service, or a domain importing SQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("shared", "services", "learning", "operations", "console")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": f"{root}:{REPO / 'gen'}", "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_house_keeps_its_contracts(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "back_edge", "contract"),
    [
        ("shared/events.py", "import services.scoring.manifest", "nothing reaches up"),
        (
            "console/web.py",
            "import services.scoring.manifest",
            "The console is only a client, never a service",
        ),
        ("console/clients.py", "import operations.catalogue", "nothing reaches up"),
        ("services/scoring/domain/grades.py", "import sqlalchemy", "Domains are pure: no gRPC, SQL or Kafka"),
        (
            "services/enterprises/use_cases/queries.py",
            "import services.complaints.manifest",
            "never import each other",
        ),
    ],
)
def test_a_back_edge_breaks_them(copy: Path, module: str, back_edge: str, contract: str) -> None:
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{back_edge}  # noqa\n")
    try:
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    assert f"{contract} BROKEN" in report
