"""`integrity import FILE` and `integrity export FILE`: history in CloudEvents JSON lines.

How a region migrates from a legacy system (docs/history-import.md), and how the sources of truth are
carried from one stack to another.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shared.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    importing = subparsers.add_parser(
        "import",
        help="import historical events (CloudEvents JSON lines) into the services that own them",
        description="Each line is validated by the owning service's rules and written to its outbox (and "
        "registry), so the running services publish it. Lines already imported are skipped. A refused line "
        "is reported as FILE:LINE: message and the rest still imports. Exit code: 0 all lines imported or "
        "already present, 1 some lines refused, 2 the file cannot be read.",
    )
    importing.add_argument("file", type=Path, help="JSON lines file, one CloudEvent per line")
    importing.add_argument("--dry-run", action="store_true", help="check every line, write nothing")
    importing.add_argument("--no-progress", action="store_true", help="no progress bar")
    importing.add_argument(
        "--batch-size", type=int, default=2000, help="lines per transaction (default 2000)"
    )
    importing.set_defaults(handler=import_command)

    exporting = subparsers.add_parser(
        "export",
        help="export every event of the enterprises, complaints and inspections outboxes and the decisions "
        "on grades (appeals, overrides, repairs, serious-dishonesty listings) as JSON lines",
        description="Ordered by (occurred_at, event id); importing the file into an empty stack rebuilds it, "
        "grades and overrides included. Grades themselves are not exported: they are recomputed.",
    )
    exporting.add_argument("file", help="where to write; - for standard output")
    exporting.add_argument("--since", help="only events that occurred at or after this ISO 8601 date or time")
    exporting.set_defaults(handler=export_command)


def import_command(args: argparse.Namespace) -> int:
    from operations.history.importer import import_lines  # imported here: it pulls in three services

    path: Path = args.file
    try:
        total = _count_lines(path)
    except OSError as exc:
        print(f"integrity import: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    def report(where: str, message: str) -> None:
        # tqdm.write keeps the progress bar intact below the messages.
        _write_err(f"{where}: {message}", progress=not args.no_progress)

    try:
        with path.open(encoding="utf-8") as source:
            lines = _numbered(source, str(path))
            summary = import_lines(
                get_settings(),
                _progress(lines, total, args.no_progress),
                report=report,
                dry_run=args.dry_run,
                batch_size=max(1, args.batch_size),
            )
    except UnicodeDecodeError as exc:
        print(
            f"integrity import: {path} is not UTF-8 text: {exc.reason} at byte {exc.start}", file=sys.stderr
        )
        return 2
    print(summary.describe(dry_run=args.dry_run))
    return 1 if summary.rejected else 0


def _count_lines(path: Path) -> int:
    with path.open("rb") as source:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 20), b""))


def _numbered(source: TextIO, name: str) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(source, start=1):
        yield f"{name}:{number}", line


def _progress(lines: Iterator[tuple[str, str]], total: int, disabled: bool) -> Iterator[tuple[str, str]]:
    if disabled:
        return lines
    from tqdm import tqdm

    return iter(tqdm(lines, total=total, unit=" lines", desc="import", file=sys.stderr, mininterval=0.5))


def _write_err(text: str, *, progress: bool) -> None:
    if progress:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr)


def export_command(args: argparse.Namespace) -> int:
    from operations.history.exporter import export_history

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(
                f"integrity export: --since {args.since!r} is not an ISO 8601 date or time", file=sys.stderr
            )
            return 2
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    if args.file == "-":
        count = export_history(get_settings(), sys.stdout, since=since)
    else:
        try:
            with open(args.file, "w", encoding="utf-8") as out:
                count = export_history(get_settings(), out, since=since)
        except OSError as exc:
            print(f"integrity export: cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    print(f"exported {count:,} events to {args.file}", file=sys.stderr if args.file == "-" else sys.stdout)
    return 0
