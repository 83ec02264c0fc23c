"""The local stack's scheduler: the services' periodic `integrity` commands (their manifests' `schedules`)
run at the same times as the CronJobs of infra/k8s/, as child processes with a log file each.

A run still going at the next due time is not started twice (the CronJobs' concurrencyPolicy: Forbid).
`INTEGRITY_SCHEDULES_ENABLED=false` turns the scheduler off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.manifest import Schedule

ENABLED_ENV = "INTEGRITY_SCHEDULES_ENABLED"

Clock = Callable[[], datetime]


def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "true").strip().lower() not in ("0", "false", "no", "off")


def describe(schedule: Schedule) -> str:
    command = " ".join(schedule.command)
    return f"{schedule.name} daily at {schedule.at} ({schedule.timezone}): integrity {command}"


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The first time strictly after `after` at which `schedule` is due (UTC)."""
    zone = ZoneInfo(schedule.timezone)
    local = after.astimezone(zone)
    hour, minute = schedule.hour_minute
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= local:
        due = (due + timedelta(days=1)).replace(hour=hour, minute=minute)
    return due.astimezone(UTC)


class Scheduler:
    """Call `tick()` often (the supervisor's loop does); it starts what is due and reports what ended."""

    def __init__(
        self,
        schedules: Iterable[Schedule],
        env: dict[str, str],
        log_dir: Path,
        *,
        now: Clock = lambda: datetime.now(UTC),
        say: Callable[[str], None] = lambda line: print(f"integrity stack: {line}", flush=True),
    ) -> None:
        self.schedules = list(schedules)
        self._env = env
        self._log_dir = log_dir
        self._now = now
        self._say = say
        self.due = {s.name: next_run(s, now()) for s in self.schedules}
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def describe(self) -> list[str]:
        return [describe(s) for s in self.schedules]

    def tick(self) -> list[str]:
        """Starts every schedule that is due; returns their names."""
        self._reap()
        now, started = self._now(), []
        for schedule in self.schedules:
            if now < self.due[schedule.name]:
                continue
            self.due[schedule.name] = next_run(schedule, now)
            if schedule.name in self.running:
                self._say(f"{schedule.name} is still running; skipping this run")
                continue
            self.running[schedule.name] = self._start(schedule)
            started.append(schedule.name)
            self._say(f"{schedule.name} started (log: {self._log_path(schedule)})")
        return started

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()

    def _reap(self) -> None:
        for name, process in list(self.running.items()):
            if (code := process.poll()) is not None:
                del self.running[name]
                self._say(f"{name} finished" if code == 0 else f"{name} failed with exit code {code}")

    def _log_path(self, schedule: Schedule) -> Path:
        return self._log_dir / f"{schedule.name}.log"

    def _start(self, schedule: Schedule) -> subprocess.Popen[bytes]:
        with self._log_path(schedule).open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "operations.cli", *schedule.command],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
