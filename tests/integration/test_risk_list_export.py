"""`integrity risk-list export` against a started scoring API: paging, region scoping, CSV contents."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from integrity.scoring.v1 import scoring_pb2_grpc
from operations import catalogue
from operations.cli import main
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared.auth import Role, issue_token
from shared.db import create_tables, make_engine
from shared.grpc_server import RunningService, ServiceApp, start
from shared.settings import Settings
from tests.unit.scoring.fakes import Outcome, inspection, registration, uscc

pytestmark = pytest.mark.integration
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(var_dir=tmp_path / "var", scoring_database_url=database_url)


@pytest.fixture
def service(settings: Settings) -> Iterator[RunningService]:
    engine = make_engine(settings.database_url("scoring"))
    create_tables(engine, TABLES)
    handler = ScoringEventHandler(load_policy())
    events = []
    for n in range(5):  # Xi'an (610112): one serious violator, four clean
        code = uscc(n, region="610112")
        events += [
            registration(code, region="610112", occurred_at=T0),
            inspection(code, T0 + timedelta(days=1)),
        ]
    events.append(inspection(uscc(0), T0 + timedelta(days=2), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION))
    events.append(registration(uscc(9, region="610302"), region="610302", occurred_at=T0))  # Baoji
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.ENTERPRISES.publishes)
            uow.commit()
    app = ServiceApp(
        manifest=catalogue.SCORING,
        servicers=[
            (
                scoring_pb2_grpc.add_ScoringServiceServicer_to_server,
                ScoringServicer(partial(ScoringUnitOfWork, engine), load_policy()),
            )
        ],
        on_stop=[engine.dispose],
        settings=settings,
    )
    running = start(app, 0)
    yield running
    running.stop(grace=1)


def test_a_regulator_exports_their_region_highest_risk_first(
    settings, service, tmp_path: Path, capsys
) -> None:
    token = issue_token(settings, Role.REGULATOR, region="610100")
    output = tmp_path / "risk.csv"
    argv = ["risk-list", "export", "--token", token, "--address", service.address, "--page-size", "2"]
    assert main([*argv, "--output", str(output)]) == 0
    assert "exported 5 enterprises" in capsys.readouterr().err

    with output.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5  # paged two at a time; Baoji's enterprise is outside the region
    assert rows[0]["uscc"] == uscc(0) and rows[0]["level"] in ("C", "D")
    assert rows[0]["reason_codes"].split(";")[0] == "SERIOUS_VIOLATION"
    assert "严重" in rows[0]["reasons_zh"] and rows[0]["label"] == "major_or_worse"
    assert all(row["region_code"] == "610112" for row in rows)
    assert all(row["region_name"] == "陕西省西安市未央区" for row in rows)
    # The risk list's order: level (D first), then probability.
    order = [("ABCD".index(row["level"]), float(row["violation_probability"])) for row in rows]
    assert order == sorted(order, reverse=True)


def test_export_outside_the_region_fails_clearly(settings, service, capsys) -> None:
    token = issue_token(settings, Role.REGULATOR, region="610100")
    argv = ["risk-list", "export", "--token", token, "--address", service.address]
    assert main([*argv, "--filter", 'region_code = "610300"']) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err


def test_export_needs_a_token(monkeypatch, capsys) -> None:
    monkeypatch.delenv("INTEGRITY_TOKEN", raising=False)
    assert main(["risk-list", "export"]) == 2
    assert "--token" in capsys.readouterr().err
