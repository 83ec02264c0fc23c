"""`integrity schedule`: the services' periodic commands, for a machine without Kubernetes' CronJobs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schedule",
        help="the periodic commands (daily recompute) and when they run",
        description="`integrity stack up` runs these itself; in Kubernetes they are CronJobs (infra/k8s/). "
        "`schedule run` is for other single-machine runs (infra/compose.yaml).",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    actions.add_parser("list", help="what runs when").set_defaults(handler=list_command)
    run = actions.add_parser("run", help="run each command when it is due, until SIGTERM or Ctrl-C")
    run.add_argument("--log-dir", help="a log file per command (default: var/log)")
    run.set_defaults(handler=run_command)


def _schedules() -> list:
    from operations import catalogue

    return [schedule for service in catalogue.SERVICES for schedule in service.schedules]


def list_command(args: argparse.Namespace) -> int:
    from operations.schedule import describe

    for schedule in _schedules():
        print(describe(schedule))
    return 0


def run_command(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from operations.schedule import Scheduler, describe
    from operations.supervisor import StopFlag
    from shared.settings import get_settings

    log_dir = Path(args.log_dir) if args.log_dir else get_settings().var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    scheduler = Scheduler(
        _schedules(),
        dict(os.environ),
        log_dir,
        say=lambda line: print(f"integrity schedule: {line}", flush=True),
    )
    for schedule in scheduler.schedules:
        due = scheduler.due[schedule.name]
        print(f"integrity schedule: {describe(schedule)}; next {due:%Y-%m-%d %H:%M} UTC", flush=True)
    stop = StopFlag()
    stop.install()
    try:
        while not stop.sleep(1.0):
            scheduler.tick()
    finally:
        scheduler.stop()
    return 0
