"""`integrity outbox`: operate a service's transactional outbox.

- `republish --service NAME --since DATE`: send the events recorded since a point in time again. How a
  downstream projection (scoring, inspections) is rebuilt from the sources of truth: the producing
  service's relay publishes the marked rows again, and consumers skip the ids they already processed.
- `parked [--service NAME]`: the events the broker refused for good (too large, corrupt), with its error.
  The relay passes over them, so the events behind them flow; they wait here for an operator.
- `unpark --service NAME (ID... | --all)`: after fixing what refused them (e.g. raising the broker's
  message.max.bytes), put parked events back in the relay's queue.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import inspect
from sqlmodel import Session

from operations import catalogue
from shared.db import make_engine
from shared.outbox import OutboxRecord, parked, unpark
from shared.relay import republish_since
from shared.settings import Settings, get_settings

T = TypeVar("T")
_ERROR_WIDTH = 160


def _publishers() -> list[str]:
    return [s.name for s in catalogue.SERVICES if s.publishes]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("outbox", help="operate a service's transactional outbox")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    republish = actions.add_parser(
        "republish",
        help="mark events recorded since a time for publishing again",
        description="The service's running relay publishes the marked events again, in their original order.",
    )
    republish.add_argument("--service", required=True, choices=_publishers())
    republish.add_argument(
        "--since", required=True, help="ISO 8601 date or time, e.g. 2026-01-01 or 2026-01-01T08:00:00+08:00"
    )
    republish.set_defaults(handler=run)

    listing = actions.add_parser(
        "parked",
        help="list the events the broker refused for good, with its error",
        description="Events the broker will never take (larger than it accepts, corrupt) are parked so the "
        "events behind them flow. Exit status 1 when there are any.",
    )
    listing.add_argument("--service", choices=_publishers(), help="one service (default: every one)")
    listing.set_defaults(handler=run_parked)

    again = actions.add_parser(
        "unpark",
        help="put parked events back in the relay's queue, after fixing what refused them",
        description="The running relay tries them again at once; one the broker still refuses is parked "
        "again. An unparked event may reach consumers after later events about the same enterprise, "
        "which they handle as a late event.",
    )
    again.add_argument("--service", required=True, choices=_publishers())
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "ids", nargs="*", type=int, default=[], metavar="ID", help="outbox row ids (see `parked`)"
    )
    which.add_argument("--all", action="store_true", help="every parked event of the service")
    again.set_defaults(handler=run_unpark)


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


def run_parked(args: argparse.Namespace) -> int:
    settings = get_settings()
    services = [args.service] if args.service else _publishers()
    total = 0
    for service in services:
        rows = list_parked(settings, service)
        total += len(rows)
        for row in rows:
            error = " ".join((row.last_error or "").split())[:_ERROR_WIDTH]
            kind = row.event_type.rsplit(".", 1)[-1]
            when = row.parked_at.isoformat() if row.parked_at else "?"
            print(f"{service}\t{row.id}\t{kind}\t{row.key}\t{len(row.value):,} bytes\tparked {when}\t{error}")
    if not total:
        print(f"no parked events ({', '.join(services)})")
        return 0
    print(
        f"{total} parked event(s). Fix what refused them, then "
        "`integrity outbox unpark --service NAME ID...`",
        file=sys.stderr,
    )
    return 1


def run_unpark(args: argparse.Namespace) -> int:
    if not args.all and not args.ids:
        print(
            "integrity outbox unpark: name the row ids (see `integrity outbox parked`) or --all",
            file=sys.stderr,
        )
        return 2
    count = unpark_rows(get_settings(), args.service, None if args.all else args.ids)
    print(f"{count} {args.service} event(s) back in the relay's queue")
    return 0 if count or args.all else 1


def list_parked(settings: Settings, service: str) -> list[OutboxRecord]:
    return _in_session(settings, service, parked, [])


def unpark_rows(settings: Settings, service: str, ids: Collection[int] | None) -> int:
    def action(session: Session) -> int:
        count = unpark(session, ids)
        session.commit()
        return count

    return _in_session(settings, service, action, 0)


def _in_session(settings: Settings, service: str, action: Callable[[Session], T], nothing: T) -> T:
    """`action` on the service's database; `nothing` when it has no outbox (the service never ran here)."""
    url = settings.database_url(service)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return nothing  # not created just to look
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table(OutboxRecord.__tablename__):
            return nothing
        with Session(engine, expire_on_commit=False) as session:
            return action(session)
    finally:
        engine.dispose()
