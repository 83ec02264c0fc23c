"""`integrity model suite`: the robustness suite of issue 11. It generates demo provinces with different
knobs (operations/demo/knobs.py: base rate, first inspections, attributes, severity mix, follow-ups, gaps
in the record), trains on all but each province's last year and ranks that year, for both labels:
champion, challenger, the graded ranking with and without the hard rules, a plain logistic regression on
the same rows, and the true probabilities. It checks the two rules: the champion within 0.005 AUC of the
plain logistic, the graded ranking within 0.01 AUC of the champion, on every province and label.

Prints a Markdown table (AUC, days earlier than date order, share of violations found in the first half
of the year) and exits 1 when a rule fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the learning stack is imported when the suite runs, never by `integrity --help`
    from learning.backtest import BacktestReport

LABELS = ("major_or_worse", "non_compliant")
SEED = 11
YEARS = 5


def register(actions: argparse._SubParsersAction) -> None:
    from operations.demo.knobs import PROVINCES

    suite = actions.add_parser(
        "suite",
        help="backtest the models on demo provinces with different knobs: champion, challenger, graded "
        "ranking and a plain logistic, both labels; exit 1 when a rule of issue 11 fails",
    )
    suite.add_argument(
        "--provinces",
        default=",".join(PROVINCES),
        help=f"comma-separated, of {', '.join(PROVINCES)} (default: all)",
    )
    suite.add_argument("--labels", default=",".join(LABELS), help="comma-separated (default: both)")
    suite.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="enterprises per province, as a multiple of the default sizes",
    )
    suite.add_argument("--seed", type=int, default=SEED)
    suite.add_argument("--workers", type=int, default=1, help="processes computing features")
    suite.set_defaults(handler=suite_command)


def suite_command(args: argparse.Namespace) -> int:
    from learning.backtest import CHAMPION, backtest
    from learning.dataset import build_tables
    from operations.demo.knobs import PROVINCES, SUITE_ENTERPRISES
    from operations.demo.province import DEFAULT_END, generate_province
    from services.scoring.adapters.policy_file import load_policy

    names = [name.strip() for name in args.provinces.split(",") if name.strip()]
    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    unknown = [n for n in names if n not in PROVINCES] + [lb for lb in labels if lb not in LABELS]
    if unknown or not names or not labels or args.scale <= 0:
        print(
            f"integrity model suite: unknown or missing {unknown or 'provinces, labels or scale'}",
            file=sys.stderr,
        )
        return 2
    policy = load_policy()
    cutoff = DEFAULT_END - timedelta(days=365)
    results: list[tuple[str, BacktestReport]] = []
    for name in names:
        started = time.perf_counter()
        enterprises = max(int(SUITE_ENTERPRISES[name] * args.scale), 100)
        histories, truth = [], {}
        for history in generate_province(enterprises, args.seed, years=YEARS, knobs=PROVINCES[name]):
            histories.append(history.events)
            truth.update(history.violation_probability)
        dataset, population = build_tables(histories, population_at=cutoff, workers=args.workers)
        print(
            f"{name}: {enterprises} enterprises, {len(dataset)} inspections "
            f"({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )
        for label in labels:
            report = backtest(dataset, population, cutoff, policy, label=label, truth=truth)
            results.append((name, report))
            print(
                f"  {label}: {report.by_name(CHAMPION).auc:.3f} AUC ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    print(suite_table(results, cutoff.date().isoformat(), args.seed))
    return 0 if all(passes(report) for _, report in results) else 1


def passes(report: BacktestReport) -> bool:
    from learning.backtest import CHAMPION, GRADED, LOGISTIC

    return report.gap(CHAMPION, LOGISTIC) >= -0.005 and report.gap(GRADED, CHAMPION) >= -0.01


def suite_table(results: list[tuple[str, BacktestReport]], test_from: str, seed: int) -> str:
    from learning.backtest import CHALLENGER, CHAMPION, GRADED, GRADED_NO_RULES, LOGISTIC

    rankings = (CHAMPION, CHALLENGER, GRADED, GRADED_NO_RULES, LOGISTIC, "oracle")
    lines = [
        f"Demo provinces (seed {seed}, {YEARS} years), trained before {test_from}, ranked on the year "
        "from it.",
        "AUC / mean days earlier than date order / share of violations found in the first half of the year.",
        "",
        "| province | label (test rate) | "
        + " | ".join(rankings)
        + " | champion - logistic | graded - champion |",
        "| --- | --- | " + " | ".join("---" for _ in rankings) + " | --- | --- |",
    ]
    for name, report in results:
        cells = []
        for ranking in rankings:
            try:
                row = report.by_name(ranking)
            except StopIteration:
                cells.append("-")
                continue
            schedule = row.schedule
            cells.append(
                f"{row.auc:.3f} / {schedule.mean_days_earlier:.1f} / {schedule.first_half_share:.0%}"
            )
        champion_gap, graded_gap = report.gap(CHAMPION, LOGISTIC), report.gap(GRADED, CHAMPION)
        lines.append(
            f"| {name} | {report.label} ({report.test_violation_rate:.1%}) | {' | '.join(cells)} | "
            f"{champion_gap:+.4f}{'' if champion_gap >= -0.005 else ' FAILS'} | "
            f"{graded_gap:+.4f}{'' if graded_gap >= -0.01 else ' FAILS'} |"
        )
    failed = [f"{name} {report.label}" for name, report in results if not passes(report)]
    lines += [
        "",
        "Rules (issue 11): champion - plain logistic >= -0.005 AUC; graded (with the hard rules) - champion "
        ">= -0.01 AUC. " + (f"FAILED on: {', '.join(failed)}." if failed else "Both hold everywhere."),
    ]
    return "\n".join(lines)
