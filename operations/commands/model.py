"""`integrity model train|backtest|promote|list`: learn the scorecard from inspection outcomes.

Histories come from the scoring database (default) or a CloudEvents JSON-lines file (`--from`, e.g. one
written by `integrity export`). Models are stored under <var>/models/<version>/; the promoted one's
scorecard is what the scoring service and `integrity scoring recompute` grade with.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from services.scoring.entrypoints.commands import parse_as_of


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="train, backtest and promote the risk model")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train the champion scorecard and the challenger, store them with a model card",
        description="Trains on every completed inspection (features as of each inspection), holds out "
        "the latest 20% (or those from --test-from) to test, and stores the version under var/models/.",
    )
    _source_arguments(train)
    train.add_argument(
        "--until", type=parse_as_of, default=None, metavar="DATE", help="use inspections before DATE only"
    )
    train.add_argument(
        "--test-from", type=parse_as_of, default=None, metavar="DATE", help="test on inspections from DATE on"
    )
    train.set_defaults(handler=train_command)

    backtest = actions.add_parser(
        "backtest",
        help="train before a cut-off, evaluate after it: champion, challenger and date order side by side",
    )
    _source_arguments(backtest)
    backtest.add_argument(
        "--cutoff", type=parse_as_of, required=True, metavar="DATE", help="train/test split date"
    )
    backtest.add_argument(
        "--truth",
        type=Path,
        default=None,
        metavar="FILE",
        help="truth file of a demo province: adds the rows 'oracle' (the true violation probabilities) "
        "and 'hidden integrity'",
    )
    backtest.set_defaults(handler=backtest_command)

    promote = actions.add_parser("promote", help="grade with this model's scorecard from now on")
    promote.add_argument("version", help="a version from `integrity model list`")
    promote.set_defaults(handler=promote_command)

    listing = actions.add_parser("list", help="stored models, the promoted one marked with *")
    listing.set_defaults(handler=list_command)


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        metavar="FILE",
        help="CloudEvents JSON-lines history file (default: the scoring database)",
    )
    parser.add_argument(
        "--workers", type=int, default=min(os.cpu_count() or 1, 2), help="processes computing features"
    )


def _dataset(args: argparse.Namespace, until: datetime | None = None) -> Any:
    from learning.dataset import build_dataset, histories_from_database, histories_from_jsonl
    from shared.settings import get_settings

    if args.source is not None:
        histories: Any = histories_from_jsonl(args.source)
    else:
        histories = histories_from_database(get_settings().database_url("scoring"))
    dataset = build_dataset(histories, workers=args.workers)
    if until is not None:
        import numpy as np

        dataset = dataset.subset(dataset.inspected_at < np.datetime64(until.replace(tzinfo=None), "us"))
    return dataset


def train_command(args: argparse.Namespace) -> int:
    from learning.training import train_models
    from services.scoring.adapters.policy_file import load_policy
    from shared.settings import get_settings

    try:
        dataset = _dataset(args, args.until)
        model = train_models(dataset, load_policy(), get_settings().var_dir, test_from=args.test_from)
    except (ValueError, OSError) as exc:
        print(f"integrity model train: {exc}", file=sys.stderr)
        return 2
    print(summary(model.card))
    print(f"stored in {model.directory}; promote with: integrity model promote {model.version}")
    return 0


def summary(card: dict[str, Any]) -> str:
    data = card["data"]
    lines = [
        f"model {card['version']} (policy {card['policy_version']}, features {card['features_version']})",
        f"  train {data['train_from']}..{data['train_to']}: {data['train_rows']} inspections, "
        f"violation rate {data['train_violation_rate']:.1%}",
        f"  test  {data['test_from']}..{data['test_to']}: {data['test_rows']} inspections, "
        f"violation rate {data['test_violation_rate']:.1%}",
    ]
    for name, m in card["metrics"].items():
        auc = "-" if m["auc"] is None or math.isnan(m["auc"]) else f"{m['auc']:.3f}"
        lines.append(
            f"  {name:<10} AUC {auc}  top decile {m['top_decile_hit_rate']:.1%} (lift {m['lift']:.2f})  "
            f"days earlier {m['mean_days_earlier']:.1f}  first half {m['first_half_share']:.1%}  "
            f"Brier {m['brier']:.4f}"
        )
    shares = card["grades"]["share"]
    lines.append("  grades by score: " + ", ".join(f"{level} {share:.1%}" for level, share in shares.items()))
    return "\n".join(lines)


def backtest_command(args: argparse.Namespace) -> int:
    from learning.backtest import backtest, format_report
    from services.scoring.adapters.policy_file import load_policy

    truth = integrity = None
    try:
        if args.truth is not None:
            document = json.loads(args.truth.read_text())
            truth = {name: float(p) for name, p in document["inspections"].items()}
            integrity = {uscc: float(e["integrity"]) for uscc, e in document["enterprises"].items()}
        dataset = _dataset(args)
        report = backtest(dataset, args.cutoff, load_policy(), truth=truth, integrity=integrity)
    except (ValueError, OSError, KeyError) as exc:
        print(f"integrity model backtest: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if truth is not None and not any(row.name == "oracle" for row in report.rows):
        print("(no oracle row: the truth file does not cover every test inspection)")
    return 0


def promote_command(args: argparse.Namespace) -> int:
    from services.scoring.adapters.model_store import promote
    from services.scoring.domain.policy import PolicyError
    from shared.settings import get_settings

    try:
        path = promote(get_settings().var_dir, args.version)
    except (FileNotFoundError, ValueError, PolicyError) as exc:
        print(f"integrity model promote: {exc}", file=sys.stderr)
        return 2
    print(
        f"promoted {args.version} ({path}); the scoring service uses it from its next start, "
        "`integrity scoring recompute` from its next run"
    )
    return 0


def list_command(args: argparse.Namespace) -> int:
    from services.scoring.adapters.model_store import list_models
    from shared.settings import get_settings

    entries = list_models(get_settings().var_dir)
    if not entries:
        print("no models yet: integrity model train")
    for entry in entries:
        champion = entry.card.get("metrics", {}).get("champion", {})
        data = entry.card.get("data", {})
        auc = champion.get("auc")
        print(
            f"{'*' if entry.promoted else ' '} {entry.version}  trained {entry.card.get('trained_at', '?')}  "
            f"train to {data.get('train_to', '?')}  test AUC {auc:.3f}"
            if isinstance(auc, float)
            else f"{'*' if entry.promoted else ' '} {entry.version}"
        )
    return 0
