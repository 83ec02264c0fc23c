"""`integrity outbox republish`: send a service's events again from a point in time.

How a downstream projection (scoring, inspections) is rebuilt from the sources of truth: the producing
service's relay publishes the marked rows again, and consumers skip the ids they already processed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from operations import catalogue
from shared.db import make_engine
from shared.relay import republish_since
from shared.settings import Settings, get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("outbox", help="operate a service's transactional outbox")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    republish = actions.add_parser(
        "republish",
        help="mark events recorded since a time for publishing again",
        description="The service's running relay publishes the marked events again, in their original order.",
    )
    republish.add_argument(
        "--service", required=True, choices=[s.name for s in catalogue.SERVICES if s.publishes]
    )
    republish.add_argument(
        "--since", required=True, help="ISO 8601 date or time, e.g. 2026-01-01 or 2026-01-01T08:00:00+08:00"
    )
    republish.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        since = datetime.fromisoformat(args.since)
    except ValueError:
        print(
            f"integrity outbox republish: --since {args.since!r} is not an ISO 8601 date or time",
            file=sys.stderr,
        )
        return 2
    count = republish(get_settings(), args.service, since)
    print(f"{count} {args.service} events recorded since {since.isoformat()} marked for publishing again")
    return 0


def republish(settings: Settings, service: str, since: datetime) -> int:
    engine = make_engine(settings.database_url(service))
    try:
        return republish_since(engine, since)
    finally:
        engine.dispose()
