"""The local scheduler runs the services' periodic commands at their CronJobs' times, never two at once."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from operations.schedule import Scheduler, next_run
from shared.manifest import Schedule
from tests.helpers import wait_until

RECOMPUTE = Schedule("scoring-recompute", "02:30", ("scoring", "recompute", "--no-progress"))


def test_the_next_run_is_the_next_02_30_in_china() -> None:
    before = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 02:00 on 2 December in Beijing
    assert next_run(RECOMPUTE, before) == datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert next_run(RECOMPUTE, datetime(2026, 12, 1, 18, 30, tzinfo=UTC)) == datetime(
        2026, 12, 2, 18, 30, tzinfo=UTC
    )
    assert RECOMPUTE.cron == "30 2 * * *"


def test_a_due_command_runs_once_and_a_running_one_is_not_started_again(tmp_path: Path) -> None:
    clock = [datetime(2026, 12, 1, 18, 29, tzinfo=UTC)]
    said: list[str] = []
    env = {**os.environ, "INTEGRITY_VAR_DIR": str(tmp_path / "var")}
    # A command that keeps running until stopped: the scheduler's own loop.
    lasting = Schedule("lasting", "02:30", ("schedule", "run", "--log-dir", str(tmp_path / "inner")))
    quick = Schedule("quick", "02:30", ("token", "--role", "system"))
    scheduler = Scheduler([lasting, quick], env, tmp_path, now=lambda: clock[0], say=said.append)
    try:
        assert scheduler.tick() == []
        clock[0] += timedelta(minutes=1)
        assert scheduler.tick() == ["lasting", "quick"]
        assert scheduler.tick() == []  # due again only tomorrow
        wait_until(lambda: scheduler.tick() == [] and "quick finished" in said, timeout=60, interval=0.2)
        assert (tmp_path / "quick.log").read_text().count(".") >= 2  # the token it printed

        clock[0] += timedelta(days=1)
        assert scheduler.tick() == ["quick"]
        assert "lasting is still running; skipping this run" in said
    finally:
        scheduler.stop()
    assert scheduler.running == {}
