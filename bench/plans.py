"""Plan draw: time to draw a 双随机 plan over 100,000 enterprises and 500 inspectors.

Times the pure draw function (services.inspections.domain.draw.draw: per-grade sampling, triggered
enterprises, teams of two from qualified inspectors, least-loaded first, never the previous lead) against a
bare `random.sample` of the same number of enterprises from the same population, measured in the same run;
then what a verifiable plan adds: the draw over pseudonymous tags, the commitment (public inputs and
hashes), and the public check that recomputes the draw from the public inputs alone.

    .venv/bin/python bench/plans.py [--enterprises 100000] [--inspectors 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrity.enterprises.v1 import enterprises_pb2
from services.inspections.domain.commitment import commit, drawn_tags
from services.inspections.domain.draw import (
    ALL_QUALIFICATIONS,
    LEVELS,
    UNGRADED,
    Candidate,
    DrawInputs,
    Officer,
    draw,
    inputs_to_json,
    loads_of,
)
from services.inspections.domain.plans import DEFAULT_RATIOS

SUBJECT_TYPES = sorted(v for v in enterprises_pb2.SubjectType.values() if v != 0)


def inputs(enterprises: int, inspectors: int, seed: int) -> DrawInputs:
    rng = random.Random(seed)
    officers = tuple(
        Officer(f"XA{i:04d}", frozenset(rng.sample(sorted(ALL_QUALIFICATIONS), 3)), rng.randrange(5))
        for i in range(inspectors)
    )
    # Roughly a province's mix: most enterprises B, some C, few D; 1% triggered; half inspected before.
    levels = rng.choices((UNGRADED, *LEVELS), weights=(5, 30, 45, 15, 5), k=enterprises)
    candidates = tuple(
        Candidate(
            uscc=f"916101{i:012d}",
            subject_type=rng.choice(SUBJECT_TYPES),
            level=levels[i],
            trigger="COMPLAINT" if rng.random() < 0.01 else "",
            previous_lead=rng.choice(officers).id if rng.random() < 0.5 else "",
        )
        for i in range(enterprises)
    )
    return DrawInputs(seed=seed, candidates=candidates, officers=officers, ratios=DEFAULT_RATIOS)


def timed(function: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--inspectors", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    plan_inputs = inputs(args.enterprises, args.inspectors, seed=20261124)
    draw_seconds, drawn = timed(lambda: draw(plan_inputs), args.repeat)
    drawn_list = list(drawn)  # type: ignore[call-overload]
    size = len(drawn_list)
    population = [c.uscc for c in plan_inputs.candidates]
    bare_seconds, _ = timed(lambda: random.Random(1).sample(population, size), args.repeat)
    snapshot_seconds, snapshot = timed(lambda: json.dumps(inputs_to_json(plan_inputs)), 1)
    loads = loads_of(drawn_list)

    print(
        f"plan draw: {args.enterprises:,} enterprises, {args.inspectors} inspectors, median of {args.repeat}"
    )
    spread = f"{min(loads.values())}-{max(loads.values())}"
    print(f"  drawn inspections          {size:,} (teams of 2; new inspections per inspector {spread})")
    print(f"  draw (enterprises+teams)   {draw_seconds * 1000:9.1f} ms")
    print(f"  bare random.sample({size:,})  {bare_seconds * 1000:9.1f} ms")
    print(f"  ratio draw / bare sample   {draw_seconds / bare_seconds:9.1f}x")
    print(f"  snapshot JSON              {snapshot_seconds * 1000:9.1f} ms, {len(snapshot) / 1e6:.1f} MB")  # type: ignore[arg-type]

    tagged = dataclasses.replace(plan_inputs, tag_key=secrets.token_hex(32))
    tagged_seconds, tagged_drawn = timed(lambda: draw(tagged), args.repeat)
    snapshot_text = json.dumps(inputs_to_json(tagged))
    commit_seconds, commitment = timed(
        lambda: commit("p", "inspectionPlans/p", tagged, snapshot_text, "00", size, False, None),
        1,  # type: ignore[arg-type]
    )
    public = json.loads(commitment.public_inputs)  # type: ignore[attr-defined]
    check_seconds, tags = timed(lambda: drawn_tags(public, tagged.seed), args.repeat)
    assert len(tags) == len(tagged_drawn)  # type: ignore[arg-type]
    print(
        f"  draw over tags (verifiable) {tagged_seconds * 1000:8.1f} ms "
        f"({tagged_seconds / draw_seconds:.1f}x the draw)"
    )
    print(
        f"  commitment                 {commit_seconds * 1000:9.1f} ms, public inputs "
        f"{len(commitment.public_inputs) / 1e6:.1f} MB"  # type: ignore[attr-defined]
    )
    print(f"  public check of the draw   {check_seconds * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
