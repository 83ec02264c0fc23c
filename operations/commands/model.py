"""`integrity model train|backtest|cutoffs|promote|list|suite`: learn the scorecard from inspection outcomes.

Histories come from the scoring database (default), a CloudEvents JSON-lines file (`--from`, e.g. one
written by `integrity export`), or, when scoring has graded nothing yet, the source services' records
(operations/history/sources.py). Models are stored under <var>/models/<version>/; the promoted one's
scorecard is what the scoring service and `integrity scoring recompute` grade with.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from services.scoring.entrypoints.commands import parse_as_of


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="train, backtest and promote the risk model")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train the champion scorecard and the challenger, store them with a model card",
        description="Trains on every completed inspection (features as of each inspection) before the "
        "hold-out: the latest 20%% of inspections (or those from --test-from) are held out to test the model "
        "and are not learned from. The label (what counts as the violation) is the policy's. The policy's "
        "target shares per grade are resolved against the enterprises registered at the start of the "
        "hold-out. Stored under var/models/ with a model card.",
    )
    _source_arguments(train)
    train.add_argument(
        "--until", type=parse_as_of, default=None, metavar="DATE", help="use inspections before DATE only"
    )
    train.add_argument(
        "--test-from",
        type=parse_as_of,
        default=None,
        metavar="DATE",
        help="hold out the inspections from DATE on",
    )
    train.set_defaults(handler=train_command)

    backtest = actions.add_parser(
        "backtest",
        help="train before a cut-off, rank after it: champion, challenger, the graded ranking (with and "
        "without hard rules), a plain logistic regression and date order side by side",
    )
    _source_arguments(backtest)
    backtest.add_argument(
        "--cutoff", type=parse_as_of, required=True, metavar="DATE", help="train/test split date"
    )
    backtest.add_argument(
        "--label", choices=("major_or_worse", "non_compliant"), help="default: the policy's"
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

    cutoffs = actions.add_parser(
        "cutoffs",
        help="resolve the policy's target shares per grade against a model and show the shares after the "
        "hard rules (before promoting it)",
    )
    cutoffs.add_argument("version", help="a version from `integrity model list`")
    _source_arguments(cutoffs)
    cutoffs.add_argument(
        "--as-of",
        type=parse_as_of,
        default=None,
        metavar="DATE",
        help="the population's date (default: the model's, the start of its hold-out)",
    )
    cutoffs.add_argument("--dry-run", action="store_true", help="show, do not store")
    cutoffs.set_defaults(handler=cutoffs_command)

    promote = actions.add_parser("promote", help="grade with this model's scorecard from now on")
    promote.add_argument("version", help="a version from `integrity model list`")
    promote.set_defaults(handler=promote_command)

    listing = actions.add_parser("list", help="stored models, the promoted one marked with *")
    listing.set_defaults(handler=list_command)

    from operations.demo.suite import register as register_suite

    register_suite(actions)


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


def _fail(action: str, message: object) -> int:
    print(f"integrity model {action}: {message}", file=sys.stderr)
    return 2


def _source(args: argparse.Namespace) -> Any:
    from operations.history.sources import history_source
    from shared.settings import get_settings

    source = history_source(get_settings(), args.source)
    print(f"reading histories from {source.description}", file=sys.stderr)
    return source


def train_command(args: argparse.Namespace) -> int:
    import numpy as np

    from learning.dataset import build_tables, inspection_times
    from learning.training import DEFAULT_TEST_SHARE, default_test_from, train_models
    from services.scoring.adapters.policy_file import load_policy
    from services.scoring.domain.policy import PolicyError
    from shared.settings import get_settings

    try:
        policy = load_policy()
        source = _source(args)
        times = inspection_times(source.histories())
        if args.until is not None:
            times = times[times < np.datetime64(args.until.replace(tzinfo=None), "us")]
        test_from = args.test_from or default_test_from(times, DEFAULT_TEST_SHARE)
        held = "" if args.test_from else f"the latest {DEFAULT_TEST_SHARE:.0%} of "
        print(
            f"label {policy.label}: learning from the inspections before {test_from.date()}; "
            f"{held}the inspections from {test_from.date()} on are held out to test (--test-from to choose)",
            file=sys.stderr,
        )
        dataset, population = build_tables(
            source.histories(), population_at=test_from, label=policy.label, workers=args.workers
        )
        if args.until is not None:
            dataset = dataset.subset(
                dataset.inspected_at < np.datetime64(args.until.replace(tzinfo=None), "us")
            )
        model = train_models(dataset, population, policy, get_settings().var_dir, test_from=test_from)
    except (ValueError, OSError, PolicyError) as exc:
        return _fail("train", exc)
    print(summary(model.card))
    print(f"stored in {model.directory}; promote with: integrity model promote {model.version}")
    return 0


def summary(card: dict[str, Any]) -> str:
    from learning.card import population_lines

    data = card["data"]
    lines = [
        f"model {card['version']} (policy {card['policy_version']}, features {card['features_version']}, "
        f"label {card['label']})",
        f"  {data['window']}",
        f"  violation rate: training {data['train_violation_rate']:.1%}, "
        f"test {data['test_violation_rate']:.1%}",
    ]
    for name, m in card["metrics"].items():
        auc = "-" if m["auc"] is None else f"{m['auc']:.3f}"
        lines.append(
            f"  {name:<22} AUC {auc}  top decile {m['top_decile_hit_rate']:.1%} (lift {m['lift']:.2f})  "
            f"days earlier {m['mean_days_earlier']:.1f}  first half {m['first_half_share']:.1%}"
        )
    lines += [f"  {line}" for line in population_lines(card["grades"])]
    idle = [f"{f['feature']} {f['status']}" for f in card["features"] if f["status"] != "used"]
    if idle:
        lines.append(
            "  not used: " + ", ".join(idle) + " (the card says why, with each feature's information value)"
        )
    return "\n".join(lines)


def backtest_command(args: argparse.Namespace) -> int:
    from learning.backtest import backtest, format_report
    from learning.dataset import build_tables
    from services.scoring.adapters.policy_file import load_policy
    from services.scoring.domain.policy import PolicyError

    truth = integrity = None
    try:
        if args.truth is not None:
            document = json.loads(args.truth.read_text())
            truth = {name: float(p) for name, p in document["inspections"].items()}
            integrity = {uscc: float(e["integrity"]) for uscc, e in document["enterprises"].items()}
        policy = load_policy()
        source = _source(args)
        dataset, population = build_tables(
            source.histories(), population_at=args.cutoff, workers=args.workers
        )
        report = backtest(
            dataset, population, args.cutoff, policy, label=args.label, truth=truth, integrity=integrity
        )
    except (ValueError, OSError, KeyError, PolicyError) as exc:
        return _fail("backtest", exc)
    print(format_report(report))
    if truth is not None and not any(row.name == "oracle" for row in report.rows):
        print("(no oracle row: the truth file does not cover every test inspection)")
    return 0


def cutoffs_command(args: argparse.Namespace) -> int:
    from operations.commands.model_cutoffs import resolve_for_version

    try:
        lines = resolve_for_version(args.version, _source(args), as_of=args.as_of, store=not args.dry_run)
    except (ValueError, OSError, KeyError) as exc:
        return _fail("cutoffs", exc)
    print("\n".join(lines))
    return 0


def promote_command(args: argparse.Namespace) -> int:
    from learning.card import population_lines
    from services.scoring.adapters.model_store import promote, version_dir
    from services.scoring.domain.policy import PolicyError
    from shared.settings import get_settings

    try:
        path = promote(get_settings().var_dir, args.version)
    except (FileNotFoundError, ValueError, PolicyError) as exc:
        return _fail("promote", exc)
    card_path = version_dir(get_settings().var_dir, args.version) / "card.json"
    if card_path.is_file():
        for line in population_lines(json.loads(card_path.read_text(encoding="utf-8"))["grades"]):
            print(line)
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
        mark = "*" if entry.promoted else " "
        print(
            f"{mark} {entry.version}  label {entry.card.get('label', '?')}  "
            f"trained {entry.card.get('trained_at', '?')}  train to {data.get('train_to', '?')}  "
            f"test AUC {auc:.3f}"
            if isinstance(auc, float)
            else f"{mark} {entry.version}"
        )
    return 0
