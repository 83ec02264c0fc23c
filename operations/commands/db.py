"""`integrity db`: each service database's schema migrations (status, upgrade, new revisions)."""

from __future__ import annotations

import argparse
import sys

from operations import catalogue


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db",
        help="schema migrations of the service databases",
        description="Every service database has its own Alembic history. The databases are those of the "
        "settings (<NAME>_DATABASE_URL, else SQLite under var/).",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    services = {"choices": sorted(catalogue.BY_NAME), "metavar": "SERVICE"}

    upgrade = actions.add_parser("upgrade", help="bring the databases to this code's revision")
    upgrade.add_argument("--service", action="append", help="only this one (repeatable)", **services)
    upgrade.add_argument("--revision", default="head", help="target revision (default: the newest)")
    upgrade.add_argument(
        "--sql", action="store_true", help="print the SQL of an upgrade from nothing instead of running it"
    )
    upgrade.set_defaults(handler=upgrade_command)

    status = actions.add_parser("status", help="where each database stands; exit 1 when one is not current")
    status.add_argument("--service", action="append", help="only this one (repeatable)", **services)
    status.set_defaults(handler=status_command)

    revision = actions.add_parser(
        "revision",
        help="generate a service's next revision from its models (for developers)",
        description="Compares the models with a database brought to the newest revision (a scratch SQLite "
        "file unless --database-url) and writes the difference as the next revision. Review it.",
    )
    revision.add_argument("--service", required=True, **services)
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")
    revision.add_argument("--database-url", help="where to compare (default: a scratch SQLite database)")
    revision.set_defaults(handler=revision_command)


def _chosen(args: argparse.Namespace) -> list:
    names = args.service or [s.name for s in catalogue.SERVICES]
    return [catalogue.service(name) for name in names]


def upgrade_command(args: argparse.Namespace) -> int:
    from shared.db import make_engine
    from shared.migrations import SchemaNotCurrent, offline_sql, upgrade
    from shared.settings import get_settings

    settings = get_settings()
    for service in _chosen(args):
        url = settings.database_url(service.name)
        if args.sql:
            print(f"-- {service.name}")
            offline_sql(url, service, args.revision)
            continue
        engine = make_engine(url)
        try:
            print(upgrade(engine, service, args.revision).describe(), flush=True)
        except SchemaNotCurrent as exc:
            print(f"integrity db upgrade: {exc}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
    return 0


def status_command(args: argparse.Namespace) -> int:
    from shared.db import make_engine
    from shared.migrations import status
    from shared.settings import get_settings

    settings = get_settings()
    current = True
    for service in _chosen(args):
        engine = make_engine(settings.database_url(service.name))
        try:
            state = status(engine, service)
        finally:
            engine.dispose()
        print(state.describe())
        current = current and state.up_to_date
    return 0 if current else 1


def revision_command(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from shared.db import make_engine
    from shared.migrations import new_revision

    service = catalogue.service(args.service)
    with tempfile.TemporaryDirectory(prefix="integrity-revision-") as scratch:
        engine = make_engine(args.database_url or f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            path = new_revision(engine, service, args.message)
        finally:
            engine.dispose()
    print(f"wrote {path}; review it, then `make format`")
    return 0
