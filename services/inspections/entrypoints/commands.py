"""`integrity plan verify <plan name>`: check an inspection plan's draw.

Two ways, for two kinds of people (docs/verifiable-draw.md):
- an auditor with the inspections database (default): the plan's seed and complete input snapshot go
  through the same pure draw function, the result must equal the stored inspections, and the plan's seed,
  snapshot and public inputs must match what it committed to when it was drawn;
- anyone, with `--public`: only the public API, no token (GetPlanCommitment, ListPublishedResults): the
  public inputs must hash to the published hash, the revealed seed to the published seed commitment, and
  every published result of the plan must be an enterprise the seed drew.
Exit 0 when everything checked holds, 1 when something does not (with what), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys


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


def verify_command(args: argparse.Namespace) -> int:
    if args.public:
        return _verify_public(args)
    # Imported here so `integrity --help` stays fast: registering the command loads no service code.
    from services.inspections.adapters.tables import TABLES
    from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
    from services.inspections.use_cases.plans import verify_plan
    from shared.db import create_tables, make_engine
    from shared.errors import IntegrityError
    from shared.settings import get_settings

    engine = make_engine(args.database_url or get_settings().database_url("inspections"))
    try:
        create_tables(engine, TABLES)
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
