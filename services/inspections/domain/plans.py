"""Plan requests and plans: a region's draw of which enterprises are inspected and by whom.

The draw itself is `draw.draw`, pure and reproducible; this module checks what a regulator asks for,
assembles the draw's inputs from the local copy and the roster, and turns its result into a plan, its
public commitment (`commitment.py`) and its PLANNED inspections.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2
from integrity.scoring.v1 import scoring_pb2
from services.inspections.domain.commitment import PlanCommitment, commit
from services.inspections.domain.draw import (
    LEVELS,
    UNGRADED,
    Candidate,
    DrawInputs,
    Drawn,
    Officer,
    inputs_to_json,
)
from services.inspections.domain.inspections import PLANNED, Inspection
from services.inspections.domain.inspectors import Inspector
from services.inspections.domain.local_copy import EnterpriseCopy
from services.inspections.domain.names import PLAN_PREFIX, new_id
from shared.errors import FieldViolation, invalid_argument
from shared.regions import region_problem

SUBJECT_TYPES = frozenset(v for v in enterprises_pb2.SubjectType.values() if v != 0)

# Default sampling ratios per grade (a regulator overrides them per plan). A is inspected only when
# triggered; an enterprise with no grade yet is sampled like B.
DEFAULT_RATIOS: dict[int, float] = {
    UNGRADED: 0.10,
    scoring_pb2.GRADE_LEVEL_A: 0.0,
    scoring_pb2.GRADE_LEVEL_B: 0.10,
    scoring_pb2.GRADE_LEVEL_C: 0.30,
    scoring_pb2.GRADE_LEVEL_D: 1.0,
}


@dataclass(frozen=True)
class PlanRequest:
    region_code: str
    subject_type: int
    ratios: dict[int, float]
    seed: int
    seed_chosen_by_caller: bool = False


def validate_plan_request(
    region_code: str, subject_type: int, overrides: list[tuple[int, float]], seed: int
) -> PlanRequest:
    violations: list[FieldViolation] = []
    if (problem := region_problem(region_code)) is not None:
        violations.append(FieldViolation("inspection_plan.region_code", problem))
    if subject_type != 0 and subject_type not in SUBJECT_TYPES:
        violations.append(
            FieldViolation("inspection_plan.subject_type", f"{subject_type} is not a SubjectType")
        )
    ratios = dict(DEFAULT_RATIOS)
    seen: set[int] = set()
    for index, (level, ratio) in enumerate(overrides):
        field = f"inspection_plan.sampling_ratios[{index}]"
        if level not in (UNGRADED, *LEVELS):
            violations.append(FieldViolation(f"{field}.level", f"{level} is not a GradeLevel"))
        elif level in seen:
            violations.append(FieldViolation(f"{field}.level", "appears more than once"))
        if not 0.0 <= ratio <= 1.0:
            violations.append(FieldViolation(f"{field}.ratio", f"must be between 0 and 1, got {ratio}"))
        seen.add(level)
        ratios[level] = ratio
    if violations:
        raise invalid_argument(violations)
    return PlanRequest(region_code, subject_type, ratios, seed or secrets.randbits(62) + 1, seed != 0)


@dataclass(frozen=True)
class Plan:
    id: str
    region_code: str
    subject_type: int
    ratios: dict[int, float]
    seed: int
    snapshot: str  # JSON of the draw inputs
    created_by: str
    request_id: str | None
    create_time: datetime
    commitment: PlanCommitment | None = None  # None for plans drawn before commitments

    @property
    def name(self) -> str:
        return PLAN_PREFIX + self.id

    def answers(self, request: PlanRequest) -> bool:
        """True when `request` asks for this plan again (AIP-155: the seed may have been generated)."""
        return (self.region_code, self.subject_type, self.ratios) == (
            request.region_code,
            request.subject_type,
            request.ratios,
        )


def draw_inputs(
    request: PlanRequest,
    population: Iterable[EnterpriseCopy],
    previous_leads: Mapping[str, str],
    roster: Iterable[Inspector],
    loads: Mapping[str, int],
) -> DrawInputs:
    """The draw's inputs: the region's active enterprises (of the subject type, when given) with their grade,
    trigger and previous lead, and its available inspectors with their open inspections as load; with a
    fresh secret tag key for the enterprises' pseudonymous tags."""
    return DrawInputs(
        tag_key=secrets.token_hex(32),
        seed=request.seed,
        candidates=tuple(
            Candidate(e.uscc, e.subject_type, e.grade_level, e.trigger, previous_leads.get(e.uscc, ""))
            for e in population
        ),
        officers=tuple(Officer(i.id, i.qualifications, loads.get(i.id, 0)) for i in roster),
        ratios=request.ratios,
    )


def new_plan(
    request: PlanRequest,
    inputs: DrawInputs,
    created_by: str,
    request_id: str | None,
    now: datetime,
    inspection_count: int,
    reveal_after: timedelta,
) -> Plan:
    """The plan, with the snapshot of its draw's inputs that `integrity plan verify` recomputes, and its
    commitment (the seed revealed at the latest `reveal_after` from now)."""
    plan_id = new_id(now)
    snapshot = json.dumps(inputs_to_json(inputs), separators=(",", ":"))
    commitment = commit(
        plan_id,
        PLAN_PREFIX + plan_id,
        inputs,
        snapshot,
        salt=secrets.token_hex(16),
        inspection_count=inspection_count,
        seed_chosen_by_caller=request.seed_chosen_by_caller,
        reveal_time=now + reveal_after,
    )
    return Plan(
        id=plan_id,
        region_code=request.region_code,
        subject_type=request.subject_type,
        ratios=request.ratios,
        seed=request.seed,
        snapshot=snapshot,
        created_by=created_by,
        request_id=request_id,
        create_time=now,
        commitment=commitment,
    )


def planned_inspections(
    plan: Plan, drawn: Iterable[Drawn], regions: Mapping[str, str], now: datetime
) -> list[Inspection]:
    """The plan's inspections, PLANNED, in the draw's order; each in its enterprise's registered region
    (`regions`, from the local copy), not the division that issued its USCC."""
    return [
        Inspection(
            id=new_id(now),
            plan_id=plan.id,
            uscc=item.uscc,
            region_code=regions[item.uscc],
            inspectors=item.inspectors,
            trigger=item.trigger,
            state=PLANNED,
            create_time=now,
        )
        for item in drawn
    ]
