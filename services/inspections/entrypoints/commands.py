"""`integrity plan verify <plan name>`: check an inspection plan's draw; `integrity plan show <plan name>`:
the plan as a sheet (CSV) with enterprise and region names.

Verify works two ways, for two kinds of people (docs/verifiable-draw.md):
- an auditor with the inspections database (default): the plan's seed and complete input snapshot go
  through the same pure draw function, the result must equal the stored inspections, and the plan's seed,
  snapshot and public inputs must match what it committed to when it was drawn;
- anyone, with `--public`: only the public API, no token (GetPlanCommitment, ListPublishedResults): the
  public inputs must hash to the published hash, the revealed seed to the published seed commitment, and
  every published result of the plan must be an enterprise the seed drew.
Exit 0 when everything checked holds, 1 when something does not (with what), 2 on usage errors. Show
reads the inspections database directly.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from services.inspections.use_cases.plans import SheetRow

SHEET_COLUMNS = (
    "inspection",
    "uscc",
    "enterprise_name",
    "region_code",
    "region_name",
    "subject_type",
    "grade",
    "trigger",
    "inspectors",
    "state",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="inspection plan tools")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check a plan's draw: from its snapshot (database), or from what it published (--public)",
    )
    verify.add_argument("name", help="the plan, e.g. inspectionPlans/0193a1b2c3d4e5f6a7b8c9d0")
    verify.add_argument("--database-url", help="inspections database (default: from settings)")
    verify.add_argument(
        "--public",
        action="store_true",
        help="check only what the plan published, through the public API (no database, no token)",
    )
    verify.add_argument(
        "--address", help="inspections service host:port for --public (default: from settings)"
    )
    verify.set_defaults(handler=verify_command)
    show = actions.add_parser(
        "show",
        help="write a plan's inspections as CSV, in the draw's order, with enterprise and region names",
    )
    show.add_argument("name", help="the plan, e.g. inspectionPlans/0193a1b2c3d4e5f6a7b8c9d0")
    show.add_argument(
        "--output", "-o", type=Path, help="CSV file (UTF-8 with BOM, for Excel); default stdout"
    )
    show.add_argument("--database-url", help="inspections database (default: from settings)")
    show.set_defaults(handler=show_command)


def verify_command(args: argparse.Namespace) -> int:
    if args.public:
        return _verify_public(args)
    # Imported here so `integrity --help` stays fast: registering the command loads no service code.
    from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
    from services.inspections.manifest import SERVICE
    from services.inspections.use_cases.plans import verify_plan
    from shared.db import make_engine
    from shared.errors import IntegrityError
    from shared.migrations import ensure_current
    from shared.settings import get_settings

    engine = make_engine(args.database_url or get_settings().database_url("inspections"))
    try:
        ensure_current(engine, SERVICE, create_empty=True)
        result = verify_plan(InspectionsUnitOfWork(engine), args.name)
    except IntegrityError as exc:
        print(f"integrity plan verify: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if result.matches:
        committed = (
            " and what the plan committed to when it was drawn"
            if result.commitment_checked
            else " (drawn before plans committed to their draw: no commitment to check)"
        )
        print(f"{args.name}: the draw matches the stored inspections{committed}")
        return 0
    print(f"{args.name}: the draw does NOT match the stored plan", file=sys.stderr)
    for difference in result.differences[:50]:
        print(f"  {difference}", file=sys.stderr)
    if len(result.differences) > 50:
        print(f"  ... and {len(result.differences) - 50} more", file=sys.stderr)
    return 1


def _verify_public(args: argparse.Namespace) -> int:
    import grpc

    from integrity.inspections.v1 import inspections_pb2 as P
    from integrity.inspections.v1 import inspections_pb2_grpc
    from services.inspections.domain.commitment import verify_public
    from services.inspections.manifest import SERVICE
    from shared.settings import get_settings

    address = args.address or get_settings().address(SERVICE.name)
    name = args.name.removesuffix("/commitment")
    with grpc.insecure_channel(address) as channel:
        stub = inspections_pb2_grpc.InspectionServiceStub(channel)
        try:
            commitment = stub.GetPlanCommitment(
                P.GetPlanCommitmentRequest(name=f"{name}/commitment"), timeout=60
            ).plan_commitment
            published = []
            token = ""
            while True:
                page = stub.ListPublishedResults(
                    P.ListPublishedResultsRequest(
                        filter=f'plan = "{name}"', page_size=1000, page_token=token
                    ),
                    timeout=60,
                )
                published += [
                    (r.enterprise.removeprefix("enterprises/"), r.draw_opening) for r in page.results
                ]
                token = page.next_page_token
                if not token:
                    break
        except grpc.RpcError as exc:
            print(f"integrity plan verify: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 2
    check = verify_public(
        commitment.seed_commitment,
        commitment.public_inputs,
        commitment.public_inputs_hash,
        commitment.inspection_count,
        (commitment.seed, commitment.seed_salt) if commitment.revealed else None,
        published,
    )
    for line in check.checked:
        print(f"  ok: {line}")
    if commitment.seed_chosen_by_caller:
        print("  note: the regulator chose this plan's seed; the service did not draw it at random")
    if not commitment.revealed:
        print(
            f"  note: the seed is revealed once every inspection is published, at the latest at "
            f"{commitment.reveal_time.ToJsonString()}"
        )
    if check.problems:
        print(f"{name}: the published draw does NOT hold", file=sys.stderr)
        for problem in check.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    verdict = (
        "drawn by its committed seed" if commitment.revealed else "committed; not checkable until the reveal"
    )
    print(f"{name}: {verdict}")
    return 0


def show_command(args: argparse.Namespace) -> int:
    from services.inspections.adapters.tables import TABLES
    from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
    from services.inspections.use_cases.plans import plan_sheet
    from shared.db import create_tables, make_engine
    from shared.errors import IntegrityError
    from shared.settings import get_settings

    engine = make_engine(args.database_url or get_settings().database_url("inspections"))
    try:
        create_tables(engine, TABLES)
        plan, rows = plan_sheet(InspectionsUnitOfWork(engine), args.name)
    except IntegrityError as exc:
        print(f"integrity plan show: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.output is None:
        write_sheet(rows, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8-sig", newline="") as out:
            write_sheet(rows, out)
    print(f"{plan.name}: {len(rows)} inspections in {plan.region_code}, seed {plan.seed}", file=sys.stderr)
    return 0


def write_sheet(rows: list[SheetRow], out: TextIO) -> None:
    from integrity.enterprises.v1 import enterprises_pb2
    from integrity.scoring.v1 import scoring_pb2
    from services.inspections.domain.inspections import state_label

    writer = csv.writer(out)
    writer.writerow(SHEET_COLUMNS)
    for row in rows:
        inspection = row.inspection
        level = scoring_pb2.GradeLevel.Name(row.grade_level).removeprefix("GRADE_LEVEL_")
        writer.writerow(
            (
                inspection.name,
                inspection.uscc,
                row.enterprise_name,
                inspection.region_code,
                row.region_name,
                enterprises_pb2.SubjectType.Name(row.subject_type).removeprefix("SUBJECT_TYPE_"),
                "" if level == "UNSPECIFIED" else level,
                inspection.trigger,
                " ".join(inspection.inspectors),
                state_label(inspection.state),
            )
        )
