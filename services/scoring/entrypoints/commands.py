"""Scoring's `integrity` subcommands.

- `integrity scoring recompute [--as-of DATE]`: regrade every enterprise as of a date from its history.
  Run daily (e.g. from cron) so grades follow evidence as it ages. Changed levels are staged as
  GradeChanged events in the scoring outbox; the running scoring service's relay publishes them.
- `integrity risk-list export`: a regulator's risk list as CSV, through the scoring API. It calls
  ListRiskEntries page by page with the caller's token, so the server's rules apply as for any client: a
  regulator gets only their region (and its children), and the read is audit-logged.

The database, the services' code and gRPC are imported inside the commands, so `integrity --help` stays
fast.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TextIO

from integrity.scoring.v1 import scoring_pb2
from services.scoring.manifest import SERVICE
from shared.settings import get_settings

COLUMNS = (
    "uscc",
    "display_name",
    "region_code",
    "region_name",
    "industry_code",
    "level",
    "score",
    "violation_probability",
    "label",
    "provisional",
    "as_of",
    "reason_codes",
    "reasons_zh",
    "reasons",
)
ListPage = Callable[[scoring_pb2.ListRiskEntriesRequest], scoring_pb2.ListRiskEntriesResponse]


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_recompute(subparsers)
    _register_risk_list(subparsers)


def _register_recompute(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scoring", help="scoring operator tools")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    recompute = actions.add_parser(
        "recompute",
        help="recompute every grade as of a date from the event history",
        description="Steps every enterprise's grade forward to --as-of (default: now) from the events "
        "before it. Grades already as of that time or later are left alone.",
    )
    recompute.add_argument(
        "--as-of",
        type=parse_as_of,
        default=None,
        metavar="DATE",
        help="ISO date (midnight UTC) or date-time with zone, e.g. 2025-01-01 or 2025-01-01T08:00+08:00",
    )
    recompute.add_argument(
        "--policy", type=Path, default=None, help="policy file (default: the built-in one)"
    )
    recompute.add_argument(
        "--scorecard",
        type=Path,
        default=None,
        help="scorecard file (default: the promoted model's, see `integrity model list`, else the policy's)",
    )
    recompute.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="processes grading batches side by side (default 1; e.g. the CPU cores the job may use)",
    )
    recompute.add_argument("--no-progress", action="store_true", help="no progress bar")
    recompute.set_defaults(handler=recompute_command)


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes from 1 to 64")
    return int(text)


def parse_as_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or date-time (e.g. 2025-01-01 or 2025-01-01T08:00+08:00)"
        ) from None
    if moment.tzinfo is None:
        if len(text) > 10:  # a time without a zone is ambiguous; a bare date means midnight UTC
            raise argparse.ArgumentTypeError(f"{text!r} has a time but no zone; add Z or +08:00")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def recompute_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from services.scoring.adapters.model_store import promoted_scorecard_path
    from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
    from services.scoring.adapters.unit_of_work import ScoringUnitOfWork, open_unit_of_work
    from services.scoring.domain.policy import PolicyError
    from services.scoring.use_cases.recompute import batch_grader, recompute_all
    from shared.wiring import service_database

    try:
        scorecard = args.scorecard or promoted_scorecard_path(get_settings().var_dir)
        policy = load_policy(args.policy or DEFAULT_POLICY_PATH, scorecard_path=scorecard)
    except (PolicyError, FileNotFoundError) as exc:
        print(f"integrity scoring recompute: {exc}", file=sys.stderr)
        return 2
    as_of = args.as_of or datetime.now(UTC)
    engine = service_database(get_settings(), SERVICE)  # at the schema revision, as the service needs

    bar = tqdm(unit="enterprise", desc="recompute", disable=args.no_progress)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    if batch_grader(policy) is None:
        print(
            "integrity scoring recompute: numpy is not installed, grading one enterprise at a time",
            file=sys.stderr,
        )
    url = get_settings().database_url(SERVICE.name)
    try:
        summary = recompute_all(
            ScoringUnitOfWork(engine),
            policy,
            as_of,
            on_progress=progress,
            workers=args.workers,
            open_uow=partial(open_unit_of_work, url),
        )
    finally:
        bar.close()
        engine.dispose()
    print(
        f"recomputed {summary.enterprises} enterprises as of {as_of.isoformat()}: "
        f"{summary.changed} grades changed ({summary.level_changed} levels), "
        f"{summary.already_later} already as of a later time"
    )
    return 0


# -- risk-list export -----------------------------------------------------------------------------------


def _register_risk_list(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("risk-list", help="regulators' risk lists")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write a risk list as CSV, highest risk first",
        description="Pages through ScoringService.ListRiskEntries and writes one CSV row per enterprise.",
    )
    export.add_argument(
        "--filter",
        default="",
        help="AIP-160 filter, e.g. 'region_code = \"610100\" AND level = GRADE_LEVEL_D'",
    )
    export.add_argument(
        "--output", "-o", type=Path, help="CSV file (UTF-8 with BOM, for Excel); default stdout"
    )
    export.add_argument("--token", help="bearer token (default: $INTEGRITY_TOKEN); see `integrity token`")
    export.add_argument("--address", help="scoring service host:port (default: from settings)")
    export.add_argument("--page-size", type=int, default=1000)
    export.set_defaults(handler=export_command)


def risk_entries(list_page: ListPage, filter_text: str, page_size: int) -> Iterator[scoring_pb2.RiskEntry]:
    """Every entry of the risk list, following next_page_token."""
    token = ""
    while True:
        response = list_page(
            scoring_pb2.ListRiskEntriesRequest(filter=filter_text, page_size=page_size, page_token=token)
        )
        yield from response.risk_entries
        token = response.next_page_token
        if not token:
            return


def write_csv(entries: Iterator[scoring_pb2.RiskEntry], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = 0
    for entry in entries:
        grade = entry.grade
        writer.writerow(
            (
                entry.enterprise.removeprefix("enterprises/"),
                entry.display_name,
                entry.region_code,
                entry.region_name,
                entry.industry_code,
                scoring_pb2.GradeLevel.Name(grade.level).removeprefix("GRADE_LEVEL_"),
                grade.score,
                f"{grade.violation_probability:.6f}",
                grade.label,
                "yes" if grade.provisional else "no",
                grade.as_of.ToJsonString(),
                ";".join(r.code for r in grade.reasons),
                "；".join(r.text_zh for r in grade.reasons),
                " ".join(r.text for r in grade.reasons),
            )
        )
        rows += 1
    return rows


def export_command(args: argparse.Namespace) -> int:
    import grpc

    from integrity.scoring.v1 import scoring_pb2_grpc
    from shared import transport

    token = args.token or os.environ.get("INTEGRITY_TOKEN")
    if not token:
        print("integrity risk-list export: pass --token or set INTEGRITY_TOKEN", file=sys.stderr)
        return 2
    settings = get_settings()
    address = args.address or settings.address(SERVICE.name, SERVICE.default_port)
    metadata = (("authorization", f"Bearer {token}"),)
    with transport.channel(settings, address) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)

        def list_page(request: scoring_pb2.ListRiskEntriesRequest) -> scoring_pb2.ListRiskEntriesResponse:
            return stub.ListRiskEntries(request, metadata=metadata, timeout=30)  # type: ignore[no-any-return]

        entries = risk_entries(list_page, args.filter, args.page_size)
        try:
            if args.output is None:
                rows = write_csv(entries, sys.stdout)
            else:
                with args.output.open("w", encoding="utf-8-sig", newline="") as out:
                    rows = write_csv(entries, out)
        except grpc.RpcError as exc:
            print(f"integrity risk-list export: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    print(f"exported {rows} enterprises", file=sys.stderr)
    return 0
