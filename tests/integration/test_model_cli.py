"""`integrity model train|list|promote|backtest` against a real (SQLite) scoring database, and the
promoted scorecard used by `integrity scoring recompute` and the scoring service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from operations import catalogue
from operations.cli import main
from operations.demo.province import generate_province
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.bootstrap import build_app
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.manifest import SERVICE
from shared.cloudevents import to_json_line
from shared.db import make_engine
from shared.migrations import upgrade
from shared.settings import Settings, get_settings

pytestmark = pytest.mark.integration

ENTERPRISES = 400
TOPIC = {
    "//integrity/enterprises": catalogue.ENTERPRISES.publishes,
    "//integrity/complaints": catalogue.COMPLAINTS.publishes,
    "//integrity/inspections": catalogue.INSPECTIONS.publishes,
}


@pytest.fixture(scope="module")
def province() -> list:
    return list(generate_province(ENTERPRISES, seed=5))


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, province: list):
    url = f"sqlite:///{tmp_path / 'scoring.db'}"
    monkeypatch.setenv("SCORING_DATABASE_URL", url)
    monkeypatch.setenv("INTEGRITY_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine, SERVICE)  # as `integrity db upgrade` makes it: the service checks the revision
    handler = ScoringEventHandler(load_policy())
    with ScoringUnitOfWork(engine) as uow:
        for enterprise in province:
            for event in enterprise.events:
                handler(uow, event, TOPIC.get(event.source, catalogue.ENTERPRISES.publishes))
        uow.commit()
    yield engine, tmp_path
    engine.dispose()
    get_settings.cache_clear()


def test_train_promote_and_recompute_with_the_promoted_scorecard(stack, capsys) -> None:
    engine, tmp_path = stack
    assert main(["model", "list"]) == 0
    assert "no models yet" in capsys.readouterr().out

    assert main(["model", "train", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    version = out.split("integrity model promote ")[-1].strip()
    assert version.startswith("scorecard-") and "champion" in out and "challenger" in out

    assert main(["model", "promote", "scorecard-19990101-deadbeef"]) == 2
    assert "no model" in capsys.readouterr().err
    assert main(["model", "promote", version]) == 0
    capsys.readouterr()
    assert main(["model", "list"]) == 0
    assert f"* {version}" in capsys.readouterr().out

    assert main(["scoring", "recompute", "--as-of", "2026-10-02", "--no-progress"]) == 0
    with ScoringUnitOfWork(engine) as uow:
        grades = uow.grades.get_many(uow.enterprises.usccs())
    assert grades and {grade.model_version for grade in grades.values()} == {version}

    # The scoring service starts with the promoted scorecard too.
    settings = Settings(var_dir=tmp_path / "var", scoring_database_url=f"sqlite:///{tmp_path / 'scoring.db'}")
    app = build_app(settings)
    servicer = app.servicers[0][1]
    assert servicer.policy.scorecard.version == version


def test_backtest_from_a_history_file_with_a_truth_file(stack, province: list, capsys) -> None:
    _, tmp_path = stack
    history = tmp_path / "history.jsonl"
    history.write_text(
        "".join(to_json_line(event) + "\n" for e in province for event in e.events), encoding="utf-8"
    )
    truth = tmp_path / "province.truth.json"
    truth.write_text(
        json.dumps(
            {
                "enterprises": {
                    e.uscc: {
                        "integrity": e.integrity,
                        "region_code": e.region_code,
                        "size_class": e.size_class,
                    }
                    for e in province
                },
                "inspections": {k: v for e in province for k, v in e.violation_probability.items()},
            }
        ),
        encoding="utf-8",
    )
    code = main(
        ["model", "backtest", "--from", str(history), "--cutoff", "2025-04-01", "--truth", str(truth)]
    )
    out = capsys.readouterr().out
    assert code == 0
    for row in ("champion", "challenger", "date order", "oracle"):
        assert row in out
    assert main(["model", "backtest", "--from", str(history), "--cutoff", "2031-01-01"]) == 2
    assert "leaves" in capsys.readouterr().err
