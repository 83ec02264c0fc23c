"""`integrity plan verify <plan name>`: recompute a stored inspection plan's draw and compare.

Reads the inspections database directly (like `integrity scoring recompute`): the plan's seed and input
snapshot go through the same pure draw function, and the result must equal the stored inspections.
Exit 0 when it matches, 1 when it does not (with the differences), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys


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
