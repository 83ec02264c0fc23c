"""`integrity scoring recompute`: regrades every enterprise as of a date from the stored history."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from operations import catalogue
from operations.cli import main
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.commands import parse_as_of
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.db import make_engine
from shared.migrations import upgrade
from shared.settings import get_settings
from tests.unit.scoring.fakes import Outcome, inspection, registration, uscc

T0 = datetime(2022, 1, 1, tzinfo=UTC)


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'scoring.db'}"
    monkeypatch.setenv("SCORING_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_recompute_lets_a_serious_violation_lapse(database_url: str, capsys) -> None:
    engine = make_engine(database_url)
    upgrade(engine, catalogue.SCORING)  # as `integrity db upgrade` makes it: the command checks
    code = uscc(1)
    handler = ScoringEventHandler(load_policy())
    for event in (
        registration(code, occurred_at=T0),
        inspection(code, T0 + timedelta(days=1), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
    ):
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.INSPECTIONS.publishes)
            uow.commit()

    assert main(["scoring", "recompute", "--as-of", "2023-01-01", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "recomputed 1 enterprises as of 2023-01-01T00:00:00+00:00" in out and "(0 levels)" in out
    assert main(["scoring", "recompute", "--as-of", "2025-06-01", "--no-progress"]) == 0
    assert "1 grades changed" in capsys.readouterr().out
    with ScoringUnitOfWork(engine) as uow:
        grade = uow.grades.get(code)
    # The hard rule lapsed after three years; the decayed violation alone still weighs on the score.
    assert grade is not None and "SERIOUS_VIOLATION" not in [r.code for r in grade.reasons]
    assert "INSPECTION_VIOLATIONS" in [r.code for r in grade.reasons]
    assert grade.as_of == datetime(2025, 6, 1, tzinfo=UTC)
    engine.dispose()


def test_as_of_parsing() -> None:
    assert parse_as_of("2025-01-01") == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_as_of("2025-01-01T08:00+08:00") == datetime(2025, 1, 1, tzinfo=UTC)
    for bad in ("2025-13-01", "2025-01-01T08:00", "yesterday"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_as_of(bad)
