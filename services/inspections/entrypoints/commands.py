"""`integrity plan verify <plan name>`: recompute a stored inspection plan's draw and compare;
`integrity plan show <plan name>`: the plan as a sheet (CSV) with enterprise and region names.

Both read the inspections database directly (like `integrity scoring recompute`). Verify: the plan's seed
and input snapshot go through the same pure draw function, and the result must equal the stored
inspections; exit 0 when it matches, 1 when it does not (with the differences), 2 on usage errors.
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
        help="recompute a plan's draw from its snapshot and check it matches the stored inspections",
    )
    verify.add_argument("name", help="the plan, e.g. inspectionPlans/0193a1b2c3d4e5f6a7b8c9d0")
    verify.add_argument("--database-url", help="inspections database (default: from settings)")
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
        print(f"{args.name}: the draw matches the stored inspections")
        return 0
    print(f"{args.name}: the draw does NOT match the stored plan", file=sys.stderr)
    for difference in result.differences[:50]:
        print(f"  {difference}", file=sys.stderr)
    if len(result.differences) > 50:
        print(f"  ... and {len(result.differences) - 50} more", file=sys.stderr)
    return 1


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
