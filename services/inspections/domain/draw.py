"""The 双随机 draw: which enterprises are inspected and by whom. Pure and deterministic.

`draw(inputs)` depends only on its inputs: every collection is sorted canonically first and every
random choice comes from one `random.Random(seed)` in a fixed order, so the same seed and inputs give
the same draw on any machine, and `integrity plan verify` can recompute a stored plan from its snapshot.

Enterprises: per grade level, ratio x population (the fraction rounded at random) are sampled
without replacement; triggered
enterprises (a substantiated complaint, an overdue rectification) are always included. Inspectors: each
drawn enterprise gets a team of `team_size` drawn from those qualified for its subject type, least
loaded first (ties broken by the seeded RNG), never led by its previous inspection's lead.

A plan with a tag key (snapshot version 2, every plan drawn since plans commit to their draw) orders each
grade's pool by the enterprises' pseudonymous tags instead of their USCCs, so the same selection can be
recomputed from the plan's public inputs (`commitment.py`) without knowing who is behind a tag.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from integrity.enterprises.v1 import enterprises_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2
from shared.enums import enum_name

Q = inspections_pb2
E = enterprises_pb2
UNGRADED = scoring_pb2.GRADE_LEVEL_UNSPECIFIED
LEVELS = (
    scoring_pb2.GRADE_LEVEL_A,
    scoring_pb2.GRADE_LEVEL_B,
    scoring_pb2.GRADE_LEVEL_C,
    scoring_pb2.GRADE_LEVEL_D,
)
MIN_TEAM_SIZE = 2
_INSTRUMENT_QUALIFICATIONS = frozenset(
    {
        Q.QUALIFICATION_FUEL_DISPENSERS,
        Q.QUALIFICATION_TRADE_SCALES,
        Q.QUALIFICATION_TAXI_METERS,
        Q.QUALIFICATION_MEDICAL_INSTRUMENTS,
        Q.QUALIFICATION_HOUSEHOLD_METERS,
    }
)
ALL_QUALIFICATIONS = frozenset(v for v in Q.Qualification.values() if v != 0)

# Subject type -> qualifications any one of which lets an inspector inspect it.
QUALIFIED_FOR: dict[int, frozenset[int]] = {
    E.SUBJECT_TYPE_TRADE_INSTRUMENT_USER: frozenset(
        {Q.QUALIFICATION_FUEL_DISPENSERS, Q.QUALIFICATION_TRADE_SCALES, Q.QUALIFICATION_TAXI_METERS}
    ),
    E.SUBJECT_TYPE_PREPACKAGED_GOODS_PRODUCER: frozenset({Q.QUALIFICATION_PREPACKAGED_GOODS}),
    E.SUBJECT_TYPE_INSTRUMENT_MANUFACTURER_OR_REPAIRER: _INSTRUMENT_QUALIFICATIONS,
    E.SUBJECT_TYPE_CALIBRATION_OR_TESTING_INSTITUTION: _INSTRUMENT_QUALIFICATIONS,
    E.SUBJECT_TYPE_MEDICAL_INSTITUTION: frozenset({Q.QUALIFICATION_MEDICAL_INSTRUMENTS}),
    E.SUBJECT_TYPE_UTILITY: frozenset({Q.QUALIFICATION_HOUSEHOLD_METERS}),
    E.SUBJECT_TYPE_OTHER: ALL_QUALIFICATIONS,
    E.SUBJECT_TYPE_UNSPECIFIED: ALL_QUALIFICATIONS,
}


def qualified_for(subject_type: int) -> frozenset[int]:
    return QUALIFIED_FOR.get(subject_type, ALL_QUALIFICATIONS)


@dataclass(frozen=True)
class Candidate:
    """An enterprise of the plan's population."""

    uscc: str
    subject_type: int
    level: int  # a GradeLevel; UNSPECIFIED when no grade has been received yet
    trigger: str = ""  # non-empty: always included, e.g. "COMPLAINT"
    previous_lead: str = ""  # inspector id that led its previous inspection


@dataclass(frozen=True)
class Officer:
    """An available inspector of the plan's region."""

    id: str
    qualifications: frozenset[int]
    load: int = 0  # open inspections already assigned


@dataclass(frozen=True)
class DrawInputs:
    seed: int
    candidates: tuple[Candidate, ...]
    officers: tuple[Officer, ...]
    # GradeLevel -> ratio in [0, 1]; UNSPECIFIED (ungraded) included.
    ratios: Mapping[int, float]
    team_size: int = MIN_TEAM_SIZE
    # The plan's secret key of the enterprises' tags (hex); empty for plans drawn before commitments.
    tag_key: str = ""


@dataclass(frozen=True)
class Drawn:
    uscc: str
    inspectors: tuple[str, ...]  # the first leads
    trigger: str = ""


class NotEnoughInspectors(Exception):
    def __init__(self, uscc: str, subject_type: int, qualified: int, needed: int) -> None:
        self.uscc, self.subject_type, self.qualified, self.needed = uscc, subject_type, qualified, needed
        type_name = enum_name(E.SubjectType, subject_type).removeprefix("SUBJECT_TYPE_")
        super().__init__(
            f"enterprise {uscc} ({type_name}) needs {needed} inspectors qualified for it and available "
            f"in the region, but only {qualified} are; add inspectors or mark them available"
        )


def sample_count(ratio: float, population: int, rng: random.Random) -> int:
    """How many of `population` a grade's ratio draws: ratio x population, its fraction rounded up with
    that probability (seeded), so the expected share is exactly the ratio even for small populations
    (10% of 4 enterprises draws one 40% of the time instead of never)."""
    exact = ratio * population
    whole = min(population, math.floor(exact))
    fraction = exact - whole
    if fraction > 0 and rng.random() < fraction:
        whole += 1
    return min(population, whole)


def sampled_as(level: int) -> int:
    """A level from a newer scoring service that this code does not know is sampled as ungraded: the
    enterprise stays in the draw instead of falling out of every pool."""
    return level if level in LEVELS else UNGRADED


def select_keys(
    groups: Mapping[int, Sequence[str]], ratios: Mapping[int, float], rng: random.Random
) -> list[str]:
    """Per level in order, a sample of its pool (keys in sorted order), in the order drawn."""
    chosen: list[str] = []
    for level in (UNGRADED, *LEVELS):
        pool = sorted(groups.get(level, ()))
        chosen += rng.sample(pool, sample_count(ratios.get(level, 0.0), len(pool), rng))
    return chosen


def select_enterprises(inputs: DrawInputs, rng: random.Random) -> list[Candidate]:
    """Triggered enterprises plus, per level, a sample of the others (pools in USCC order, or in tag order
    with a tag key); sorted by USCC."""
    key_of = (lambda c: tag_of(inputs.tag_key, c.uscc)) if inputs.tag_key else (lambda c: c.uscc)
    by_key = {key_of(c): c for c in inputs.candidates}
    groups: dict[int, list[str]] = {}
    for key, candidate in by_key.items():
        if not candidate.trigger:
            groups.setdefault(sampled_as(candidate.level), []).append(key)
    chosen = [c for c in inputs.candidates if c.trigger]
    chosen += [by_key[key] for key in select_keys(groups, inputs.ratios, rng)]
    return sorted(chosen, key=lambda c: c.uscc)


# --- pseudonymous tags: an enterprise in a plan's public inputs ----------------------------------------

TAG_DIGITS = 32


def opening(tag_key: str, uscc: str) -> str:
    """What links enterprise `uscc` to its tag in a plan whose secret tag key is `tag_key`."""
    return hmac.new(bytes.fromhex(tag_key), uscc.encode(), hashlib.sha256).hexdigest()[:TAG_DIGITS]


def tag(uscc: str, opened_with: str) -> str:
    """An enterprise's tag: the first 32 hex digits of SHA-256("{uscc}:{opening}")."""
    return hashlib.sha256(f"{uscc}:{opened_with}".encode()).hexdigest()[:TAG_DIGITS]


def tag_of(tag_key: str, uscc: str) -> str:
    return tag(uscc, opening(tag_key, uscc))


@dataclass
class _Roster:
    """Least-loaded-first queues per subject type over shared loads (lazy deletion by version)."""

    rng: random.Random
    loads: dict[str, int]
    groups_of: dict[str, list[int]]
    queues: dict[int, list[tuple[int, float, int, str]]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)

    def push(self, officer_id: str) -> None:
        version = self.versions.get(officer_id, 0)
        for group in self.groups_of[officer_id]:
            heapq.heappush(
                self.queues[group], (self.loads[officer_id], self.rng.random(), version, officer_id)
            )

    def valid(self, entry: tuple[int, float, int, str]) -> bool:
        return self.versions.get(entry[3], 0) == entry[2]

    def team(self, candidate: Candidate, size: int) -> tuple[str, ...]:
        queue = self.queues[candidate.subject_type]
        if self.sizes[candidate.subject_type] < size:
            raise NotEnoughInspectors(
                candidate.uscc, candidate.subject_type, self.sizes[candidate.subject_type], size
            )
        picked: list[tuple[int, float, int, str]] = []
        held: list[tuple[int, float, int, str]] = []  # the previous lead, kept out of the lead's place
        while len(picked) < size:
            if picked and held:
                # Once a lead is chosen, the previous lead is an ordinary candidate again.
                queue_head = _first_valid(queue, self)
                if queue_head is None or held[0] < queue_head:
                    picked.append(held.pop())
                    continue
            entry = heapq.heappop(queue)
            if not self.valid(entry):
                continue
            if not picked and entry[3] == candidate.previous_lead:
                held.append(entry)
                continue
            picked.append(entry)
        for entry in held:
            heapq.heappush(queue, entry)
        team = tuple(entry[3] for entry in picked)
        for officer_id in team:
            self.loads[officer_id] += 1
            self.versions[officer_id] = self.versions.get(officer_id, 0) + 1
            self.push(officer_id)
        return team


def _first_valid(
    queue: list[tuple[int, float, int, str]], roster: _Roster
) -> tuple[int, float, int, str] | None:
    while queue and not roster.valid(queue[0]):
        heapq.heappop(queue)
    return queue[0] if queue else None


def draw(inputs: DrawInputs) -> list[Drawn]:
    """The plan's inspections, sorted by USCC; NotEnoughInspectors when a team cannot be formed."""
    rng = random.Random(inputs.seed)
    chosen = select_enterprises(inputs, rng)
    officers = sorted(inputs.officers, key=lambda o: o.id)
    subject_types = sorted({c.subject_type for c in chosen})
    roster = _Roster(rng=rng, loads={o.id: o.load for o in officers}, groups_of={o.id: [] for o in officers})
    for subject_type in subject_types:
        roster.queues[subject_type] = []
        accepted = qualified_for(subject_type)
        members = [o.id for o in officers if o.qualifications & accepted]
        roster.sizes[subject_type] = len(members)
        for officer_id in members:
            roster.groups_of[officer_id].append(subject_type)
    for officer in officers:
        roster.push(officer.id)
    return [Drawn(c.uscc, roster.team(c, inputs.team_size), c.trigger) for c in chosen]


def loads_of(drawn: Iterable[Drawn]) -> dict[str, int]:
    """Inspections per inspector in a draw."""
    counts: dict[str, int] = {}
    for inspection in drawn:
        for officer_id in inspection.inspectors:
            counts[officer_id] = counts.get(officer_id, 0) + 1
    return counts


# --- the snapshot a plan stores, so its draw can be recomputed ------------------------------------

# Version 2 adds the tag key (pools in tag order); version 1 plans still verify.
SNAPSHOT_VERSIONS = (1, 2)


def inputs_to_json(inputs: DrawInputs) -> dict[str, object]:
    tagged = {"tag_key": inputs.tag_key} if inputs.tag_key else {}
    return {
        "version": 2 if inputs.tag_key else 1,
        **tagged,
        "seed": inputs.seed,
        "team_size": inputs.team_size,
        "ratios": {str(level): ratio for level, ratio in sorted(inputs.ratios.items())},
        "candidates": [
            [c.uscc, c.subject_type, c.level, c.trigger, c.previous_lead]
            for c in sorted(inputs.candidates, key=lambda c: c.uscc)
        ],
        "officers": [
            [o.id, sorted(o.qualifications), o.load] for o in sorted(inputs.officers, key=lambda o: o.id)
        ],
    }


def inputs_from_json(data: Mapping[str, object]) -> DrawInputs:
    """The inputs of a snapshot; ValueError when it is not one."""
    try:
        if data["version"] not in SNAPSHOT_VERSIONS:
            raise ValueError(f"unknown snapshot version {data['version']!r}")
        return DrawInputs(
            seed=int(data["seed"]),  # type: ignore[call-overload]
            tag_key=str(data["tag_key"]) if data["version"] == 2 else "",
            team_size=int(data["team_size"]),  # type: ignore[call-overload]
            ratios={int(k): float(v) for k, v in data["ratios"].items()},  # type: ignore[attr-defined]
            candidates=tuple(
                Candidate(str(u), int(t), int(lv), str(tr), str(pl))
                for u, t, lv, tr, pl in data["candidates"]  # type: ignore[attr-defined]
            ),
            officers=tuple(
                Officer(str(i), frozenset(int(q) for q in qs), int(load))
                for i, qs, load in data["officers"]  # type: ignore[attr-defined]
            ),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a plan snapshot: {exc}") from exc
