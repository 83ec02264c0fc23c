"""`integrity scoring recompute [--as-of DATE]`: regrade every enterprise as of a date from its history.

Run daily (e.g. from cron) so grades follow evidence as it ages. Changed levels are staged as
GradeChanged events in the scoring outbox; the running scoring service's relay publishes them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
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
    recompute.add_argument("--no-progress", action="store_true", help="no progress bar")
    recompute.set_defaults(handler=recompute_command)


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
    # Imported here so `integrity --help` stays fast and does not load the services.
    from tqdm import tqdm

    from services.scoring.adapters.model_store import promoted_scorecard_path
    from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
    from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
    from services.scoring.domain.policy import PolicyError
    from services.scoring.manifest import SERVICE
    from services.scoring.use_cases.recompute import recompute_all
    from shared.settings import get_settings
    from shared.wiring import service_database

    try:
        scorecard = args.scorecard or promoted_scorecard_path(get_settings().var_dir)
        policy = load_policy(args.policy or DEFAULT_POLICY_PATH, scorecard_path=scorecard)
    except (PolicyError, FileNotFoundError) as exc:
        print(f"integrity scoring recompute: {exc}", file=sys.stderr)
        return 2
    as_of = args.as_of or datetime.now(UTC)
    engine = service_database(get_settings(), SERVICE)  # its tables created, as the service does

    bar = tqdm(unit="enterprise", desc="recompute", disable=args.no_progress)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    try:
        summary = recompute_all(ScoringUnitOfWork(engine), policy, as_of, on_progress=progress)
    finally:
        bar.close()
        engine.dispose()
    print(
        f"recomputed {summary.enterprises} enterprises as of {as_of.isoformat()}: "
        f"{summary.changed} grades changed ({summary.level_changed} levels), "
        f"{summary.already_later} already as of a later time"
    )
    return 0
