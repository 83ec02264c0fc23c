"""Scoring's reads at any size without the recompute: risk-list first pages and GetGrade, each against a
bare gRPC echo in the same run (the reads part of bench/scoring.py).

SAMPLE enterprises are seeded and graded by the recompute, then their projections and grades are copied
under new USCCs up to --enterprises (the reads need graded rows, not how they were made; each copy gets a
distinct violation probability, so the risk order is not decided by the USCC alone). Writing 1,000,000
takes about a minute, where recomputing them takes several.

    .venv/bin/python bench/scoring_reads.py [--enterprises 1000000] [--calls 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring import AS_OF, bench_reads, code_of, fresh_engine, seed
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import EnterpriseProjection, GradeRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.use_cases.recompute import recompute_all

SAMPLE = 2000  # enterprises graded by the recompute, whose grades are copied
CHUNK = 20000  # rows per insert


def seed_grades(engine: Engine, enterprises: int) -> None:
    seed(engine, min(SAMPLE, enterprises))
    recompute_all(ScoringUnitOfWork(engine), load_policy(), AS_OF)
    projection: Table = EnterpriseProjection.__table__  # type: ignore[attr-defined]
    grades: Table = GradeRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        sample = {row.uscc: row._asdict() for row in connection.execute(grades.select())}
        projected = {row.uscc: row._asdict() for row in connection.execute(projection.select())}
    codes = sorted(sample)
    for first in range(len(codes), enterprises, CHUNK):
        copies, graded = [], []
        for i in range(first, min(first + CHUNK, enterprises)):
            original, code = codes[i % len(codes)], code_of(i)
            name = f"西安市基准测试企业{i}有限公司"
            copies.append({**projected[original], "uscc": code, "display_name": name})
            probability = sample[original]["violation_probability"] * (1 - i / (enterprises * 10))
            graded.append({**sample[original], "uscc": code, "violation_probability": probability})
        with engine.begin() as connection:
            connection.execute(projection.insert(), copies)
            connection.execute(grades.insert(), graded)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--enterprises", type=int, default=1_000_000, help="graded enterprises (1000000)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per read measurement (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # access-log lines are part of the cost, not worth printing
    with tempfile.TemporaryDirectory(prefix="bench-scoring-reads-") as directory:
        engine = fresh_engine(directory, "reads")
        started = time.perf_counter()
        seed_grades(engine, args.enterprises)
        engine.dispose()
        print(f"{args.enterprises} graded enterprises written in {time.perf_counter() - started:.1f} s")
        url = f"sqlite:///{directory}/reads.db"
        bench_reads(directory, url, args.enterprises, args.calls, args.concurrency)


if __name__ == "__main__":
    main()
