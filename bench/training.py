"""Training: build_dataset + champion fit + challenger fit on N inspections of a demo province, against a
bare baseline measured in the same run (scikit-learn LogisticRegression on the same feature matrix).

The province streams from operations.demo.province.generate_province (a million inspections do not fit
in memory as protobufs), so the dataset build's wall time includes generating the histories in the main
process; the time spent generating is printed apart, and the per-row cost of the features alone is
measured on the first 20,000 inspections in one process.

    .venv/bin/python bench/training.py [--inspections 50000] [--workers 2] [--seed 1]

The issue asks for the training time on 1,000,000 inspections: pass --inspections 1000000.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.linear_model import LogisticRegression

from learning.challenger import fit_challenger
from learning.champion import fit_champion
from learning.dataset import build_dataset
from operations.demo.province import generate_province

SAMPLE_ROWS = 20_000


class TimedHistories:
    """Streams histories until `inspections` InspectionCompleted events, timing the generation."""

    def __init__(self, inspections: int, seed: int) -> None:
        self.inspections, self.seed = inspections, seed
        self.generation_seconds = 0.0
        self.enterprises = 0

    def __iter__(self) -> Iterator[list]:
        province = generate_province(10**9, seed=self.seed)
        found = 0
        while found < self.inspections:
            started = time.perf_counter()
            enterprise = next(province)
            self.generation_seconds += time.perf_counter() - started
            self.enterprises += 1
            found += sum(1 for e in enterprise.events if e.WhichOneof("payload") == "inspection_completed")
            yield enterprise.events


def timed(label: str, work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:9.1f} s")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inspections", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    sample = TimedHistories(min(SAMPLE_ROWS, args.inspections), args.seed)
    sample_histories = list(sample)
    sample_set, sample_seconds = timed(
        "features only, 1 process (sample)", lambda: build_dataset(sample_histories, workers=1)
    )
    print(f"  {len(sample_set)} rows: {sample_seconds / len(sample_set) * 1e6:.1f} us per row")

    histories = TimedHistories(args.inspections, args.seed)
    dataset, build_seconds = timed(
        f"build_dataset, {args.workers} workers, streaming",
        lambda: build_dataset(histories, workers=args.workers),
    )
    print(
        f"  {len(dataset)} inspections of {histories.enterprises} enterprises, violation rate "
        f"{dataset.violation_rate:.1%}; generating the province took {histories.generation_seconds:.1f} s "
        "of that wall time (main process)"
    )
    _, champion_seconds = timed(
        "champion fit (bins + per-bin points, ridge chosen)", lambda: fit_champion(dataset)
    )
    _, challenger_seconds = timed("challenger fit (boosting + isotonic)", lambda: fit_challenger(dataset))
    # The baseline gets a well-conditioned matrix (missing -> 0, standardized), as a bare fit would.
    matrix = np.nan_to_num(dataset.numeric, nan=0.0)
    matrix = (matrix - matrix.mean(axis=0)) / np.maximum(matrix.std(axis=0), 1e-9)
    _, baseline_seconds = timed(
        "baseline: bare LogisticRegression, same rows",
        lambda: LogisticRegression(max_iter=1000).fit(matrix, dataset.label),
    )
    total = build_seconds + champion_seconds + challenger_seconds
    print(f"{'total (build + champion + challenger)':<44} {total:9.1f} s for {len(dataset)} inspections")
    print(f"champion fit: {champion_seconds / baseline_seconds:.1f}x the bare LogisticRegression fit")
    print(f"challenger fit: {challenger_seconds / baseline_seconds:.1f}x the bare LogisticRegression fit")
    print(
        f"features: {sample_seconds / len(sample_set) * 1e6 / (baseline_seconds / len(dataset) * 1e6):.1f}x "
        "the bare fit's time per row"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (main process): {peak:.0f} MB")


if __name__ == "__main__":
    main()
