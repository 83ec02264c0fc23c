"""`integrity risk-list export`: a regulator's risk list as CSV, through the scoring API.

It calls ListRiskEntries page by page with the caller's token, so the server's rules apply as for any
client: a regulator gets only their region (and its children), and the read is audit-logged.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from integrity.scoring.v1 import scoring_pb2

COLUMNS = (
    "uscc",
    "display_name",
    "region_code",
    "industry_code",
    "level",
    "score",
    "violation_probability",
    "provisional",
    "as_of",
    "reason_codes",
    "reasons_zh",
    "reasons",
)
ListPage = Callable[[scoring_pb2.ListRiskEntriesRequest], scoring_pb2.ListRiskEntriesResponse]


def register(subparsers: argparse._SubParsersAction) -> None:
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
                entry.industry_code,
                scoring_pb2.GradeLevel.Name(grade.level).removeprefix("GRADE_LEVEL_"),
                grade.score,
                f"{grade.violation_probability:.6f}",
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
    from shared.settings import get_settings

    token = args.token or os.environ.get("INTEGRITY_TOKEN")
    if not token:
        print("integrity risk-list export: pass --token or set INTEGRITY_TOKEN", file=sys.stderr)
        return 2
    address = args.address or get_settings().address("scoring")
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
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
