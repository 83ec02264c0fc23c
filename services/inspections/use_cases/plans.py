"""Inspection plans: drawing one (双随机) with its PLANNED inspections and its public commitment, reading it,
the public commitments (revealing a plan's seed once its inspections are published), and verifying that a
stored plan is what its seed and input snapshot draw and what it committed to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.inspections.adapters import mapping
from services.inspections.domain.commitment import PublicCommitment, check_commitment, public_view
from services.inspections.domain.draw import NotEnoughInspectors, draw, inputs_from_json
from services.inspections.domain.inspections import Inspection
from services.inspections.domain.names import PLAN_PREFIX, parse_name
from services.inspections.domain.plans import Plan, PlanRequest, draw_inputs, new_plan, planned_inspections
from services.inspections.manifest import TOPIC
from services.inspections.use_cases.access import require_plan_read, require_region
from services.inspections.use_cases.audit import audit
from services.inspections.use_cases.queries import Page, decode_page_token, page_of, page_size_of
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared import pagination
from shared.auth import Principal, Role, listing_region
from shared.errors import (
    ErrorKind,
    FieldViolation,
    IntegrityError,
    StorageConflict,
    failed_precondition,
    invalid_argument,
    not_found,
)
from shared.events import new_event, utcnow
from shared.idempotency import repeat_of, request_key
from shared.regions import region_name, region_problem
from shared.workdays import china_date

# The seed is revealed once every inspection of a plan is published, at the latest this long after the draw.
DEFAULT_REVEAL_AFTER = timedelta(days=180)
COMMITMENT_SUFFIX = "/commitment"


@dataclass(frozen=True)
class PlanView:
    plan: Plan
    inspections: list[Inspection]
    revealed: bool = False  # the plan's seed is public


def create_plan(
    uow: InspectionsUoW,
    request: PlanRequest,
    request_id: str,
    principal: Principal,
    reveal_after: timedelta = DEFAULT_REVEAL_AFTER,
) -> PlanView:
    """Draws and stores a plan with its inspections and its commitment, or returns the plan of a repeated
    request_id."""
    key = request_key(request_id)
    require_region(principal, request.region_code)
    now = utcnow()
    with uow:
        if key and (
            original := repeat_of(uow.plans.get_by_request_id(key), lambda p: p.answers(request), key, "plan")
        ):
            return _view(uow, original, now)
        population = uow.enterprises.active_in(request.region_code, request.subject_type)
        inputs = draw_inputs(
            request,
            population=population,
            previous_leads=uow.inspections.previous_leads(request.region_code),
            roster=uow.inspectors.available_in(request.region_code),
            loads=uow.inspections.planned_loads(),
        )
        try:
            drawn = draw(inputs)
        except NotEnoughInspectors as exc:
            raise failed_precondition(str(exc), "NOT_ENOUGH_INSPECTORS") from None
        plan = new_plan(request, inputs, principal.subject, key, now, len(drawn), reveal_after)
        uow.plans.add(plan)
        regions = {e.uscc: e.region_code for e in population}
        inspections = planned_inspections(plan, drawn, regions, now)
        for position, inspection in enumerate(inspections):
            uow.inspections.add(inspection, position)
            payload = mapping.planned_event(inspection, plan)
            uow.add_event(TOPIC, new_event(mapping.EVENT_SOURCE, inspection.uscc, payload, occurred_at=now))
        uow.enterprises.clear_triggers([i.uscc for i in inspections if i.trigger])
        try:
            uow.commit()
        except StorageConflict:
            raise IntegrityError(
                "a concurrent request with the same request_id stored its plan first; repeat the request",
                "CONCURRENT_WRITE",
                ErrorKind.ABORTED,
            ) from None
    audit("CreateInspectionPlan", plan.name, principal, seed=plan.seed, inspections=len(inspections))
    return PlanView(plan, inspections, revealed=not inspections)


def get_plan(uow: InspectionsUoW, name: str, principal: Principal) -> PlanView:
    plan_id = parse_name(name, PLAN_PREFIX)
    with uow:
        plan = uow.plans.get(plan_id)
        if plan is None:
            raise not_found(name)
        inspections = uow.inspections.of_plan(plan_id)
        require_plan_read(principal, plan.region_code, (i.inspectors for i in inspections))
        return PlanView(plan, inspections, revealed=revealed(uow, [plan], utcnow())[plan.id])


def _view(uow: InspectionsUoW, plan: Plan, now: datetime) -> PlanView:
    inspections = uow.inspections.of_plan(plan.id)
    return PlanView(plan, inspections, revealed=revealed(uow, [plan], now)[plan.id])


def revealed(uow: InspectionsUoW, plans: list[Plan], now: datetime) -> dict[str, bool]:
    """Plan id -> whether its seed is public (plans without a commitment never reveal anything)."""
    unpublished = uow.inspections.unpublished_counts([p.id for p in plans], china_date(now))
    return {p.id: p.commitment is not None and p.commitment.revealed(unpublished[p.id], now) for p in plans}


# --- the public commitments (a draw anyone can verify) ------------------------------------------------


def public_commitment(plan: Plan, revealed: bool) -> PublicCommitment:
    assert plan.commitment is not None
    return public_view(plan.id, plan.region_code, plan.create_time, plan.seed, plan.commitment, revealed)


def list_commitments(
    uow: InspectionsUoW, region_code: str, page_size: int, page_token: str, now: datetime | None = None
) -> Page[PublicCommitment]:
    """Plans with their commitments, newest first (public): of a region, or of every one."""
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    now = now or utcnow()
    limit = page_size_of(page_size)
    query = f"commitments:{region_code}"
    after = decode_page_token(page_token, query)
    with uow:
        plans = uow.plans.committed(region_code, after, limit + 1)
        shown = revealed(uow, plans, now)
    views = [public_commitment(plan, shown[plan.id]) for plan in plans]
    return page_of(views, limit, query, lambda view: view.plan_id)


def get_commitment(uow: InspectionsUoW, name: str, now: datetime | None = None) -> PublicCommitment:
    """One plan's commitment (public), `inspectionPlans/{id}/commitment`."""
    plan_name = name.removesuffix(COMMITMENT_SUFFIX) if name.endswith(COMMITMENT_SUFFIX) else ""
    if not plan_name:
        raise invalid_argument(
            [FieldViolation("name", f"must be inspectionPlans/{{id}}/commitment, got {name[:80]!r}")]
        )
    plan_id = parse_name(plan_name, PLAN_PREFIX)
    with uow:
        plan = uow.plans.get(plan_id)
        if plan is None or plan.commitment is None:
            raise not_found(name)
        return public_commitment(plan, revealed(uow, [plan], now or utcnow())[plan.id])


@dataclass(frozen=True)
class PlanPage:
    plans: list[PlanView]
    next_page_token: str


def list_plans(
    uow: InspectionsUoW, principal: Principal, region_code: str, page_size: int, page_token: str
) -> PlanPage:
    """A page of the plans of a region (the caller's when none is given), newest first."""
    region = region_code or ""  # a system caller: everywhere unless it names a region
    if principal.role != Role.SYSTEM:
        region = listing_region(principal, region_code or None, "inspection plans")
    size = pagination.page_size(page_size)
    query = pagination.fingerprint(f"plans:{region}")
    offset = pagination.decode_page_token(page_token, query) if page_token else 0
    if not isinstance(offset, int) or offset < 0:
        raise pagination.invalid_page_token()
    with uow:
        found = uow.plans.list(region, offset, size + 1)
        shown = revealed(uow, found[:size], utcnow())
        views = [PlanView(p, uow.inspections.of_plan(p.id), shown[p.id]) for p in found[:size]]
    token = pagination.encode_page_token(offset + size, query) if len(found) > size else ""
    return PlanPage(views, token)


def require_plan_reader(uow: InspectionsUoW, principal: Principal, name: str) -> None:
    """NOT_FOUND or PERMISSION_DENIED unless the caller may read the plan (as GetInspectionPlan)."""
    get_plan(uow, name, principal)


@dataclass(frozen=True)
class SheetRow:
    """One inspection of a plan as a person reads it: the enterprise's name and its region's name."""

    inspection: Inspection
    enterprise_name: str
    region_name: str
    subject_type: int
    grade_level: int


def plan_sheet(uow: InspectionsUoW, name: str) -> tuple[Plan, list[SheetRow]]:
    """The plan and its inspections in the draw's order, with names from the local copy and GB/T 2260."""
    plan_id = parse_name(name, PLAN_PREFIX)
    with uow:
        plan = uow.plans.get(plan_id)
        if plan is None:
            raise not_found(name)
        rows = []
        for inspection in uow.inspections.of_plan(plan_id):
            copy = uow.enterprises.get(inspection.uscc)
            rows.append(
                SheetRow(
                    inspection,
                    copy.display_name,
                    region_name(inspection.region_code),
                    copy.subject_type,
                    copy.grade_level,
                )
            )
    return plan, rows


@dataclass(frozen=True)
class Verification:
    matches: bool
    differences: list[str]
    commitment_checked: bool = False  # the plan has a commitment, and it was checked too


def verify_plan(uow: InspectionsUoW, name: str) -> Verification:
    """Recomputes the plan's draw from its stored snapshot and compares it with its stored inspections."""
    plan_id = parse_name(name, PLAN_PREFIX)
    with uow:
        plan = uow.plans.get(plan_id)
        if plan is None:
            raise not_found(name)
        stored = uow.inspections.of_plan(plan_id)
    differences: list[str] = []
    try:
        inputs = inputs_from_json(json.loads(plan.snapshot))
    except ValueError as exc:
        return Verification(False, [f"the snapshot cannot be read: {exc}"])
    if inputs.seed != plan.seed:
        differences.append(f"the snapshot's seed {inputs.seed} is not the plan's seed {plan.seed}")
    if plan.commitment is not None:
        differences += check_commitment(plan.commitment, plan.seed, plan.snapshot, inputs, plan.name)
    try:
        expected = [(d.uscc, d.inspectors) for d in draw(inputs)]
    except NotEnoughInspectors as exc:
        return Verification(False, [f"the snapshot cannot be drawn: {exc}"])
    actual = [(i.uscc, i.inspectors) for i in stored]
    if len(expected) != len(actual):
        differences.append(f"the draw has {len(expected)} inspections, the plan stores {len(actual)}")
    for (e_uscc, e_team), (a_uscc, a_team) in zip(expected, actual, strict=False):
        if (e_uscc, e_team) != (a_uscc, a_team):
            differences.append(
                f"expected {e_uscc} by {','.join(e_team)}, stored {a_uscc} by {','.join(a_team)}"
            )
    return Verification(not differences, differences, plan.commitment is not None)
