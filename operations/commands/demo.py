"""`integrity demo seed`: a synthetic province with years of history, to a file or into the stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="demo data")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    seed = actions.add_parser(
        "seed",
        help="generate a demo province and import it (or write it as an import file with --out)",
        description="Seeded and reproducible. Without --out the events go straight into the service "
        "databases (the running services publish them); the hidden truth goes to var/demo/truth.json.",
    )
    seed.add_argument("--enterprises", type=int, default=2000, help="how many enterprises (default 2000)")
    seed.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    seed.add_argument("--years", type=int, default=5, help="years of history (default 5)")
    seed.add_argument("--out", type=Path, help="write JSON lines here (and the truth to OUT.truth.json)")
    seed.add_argument("--no-progress", action="store_true", help="no progress bar")
    seed.set_defaults(handler=seed_command)


def seed_command(args: argparse.Namespace) -> int:
    from operations.demo.load import TRUTH_SUFFIX, Province, load_province, write_province

    if args.enterprises < 1 or args.years < 1:
        print("integrity demo seed: --enterprises and --years must be at least 1", file=sys.stderr)
        return 2
    province = Province(args.enterprises, args.seed, args.years)
    with progress_bar(args.enterprises, "demo", disabled=args.no_progress) as advance:
        if args.out is not None:
            truth_path = args.out.with_name(args.out.name + TRUTH_SUFFIX)
            try:
                with args.out.open("w", encoding="utf-8") as out:
                    count = write_province(province, out, truth_path, on_progress=advance)
            except OSError as exc:
                print(f"integrity demo seed: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
                return 2
            summary_line = f"wrote {count:,} events of {args.enterprises:,} enterprises to {args.out}"
            summary_line += f" (truth: {truth_path}); import with: integrity import {args.out}"
            rejected = 0
        else:
            settings = get_settings()
            summary = load_province(
                settings, province, report=_reporter(args.no_progress), on_progress=advance
            )
            summary_line = summary.describe()
            rejected = summary.rejected
    print(summary_line)
    return 1 if rejected else 0


@contextmanager
def progress_bar(total: int, label: str, *, disabled: bool) -> Iterator[Callable[[int], None]]:
    """An `on_progress(done)` callback drawing a tqdm bar of `total` enterprises (a no-op when disabled)."""
    if disabled:
        yield lambda _done: None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=" enterprises", desc=label, file=sys.stderr, mininterval=0.5) as bar:

        def advance(done: int) -> None:
            # Read as "enterprises done so far"; a generator that reports increments works as well.
            bar.update(done - bar.n if done > bar.n else done)

        yield advance


def _reporter(no_progress: bool) -> Callable[[str, str], None]:
    def report(where: str, message: str) -> None:
        text = f"{where}: {message}"
        if no_progress:
            print(text, file=sys.stderr)
        else:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stderr)

    return report
