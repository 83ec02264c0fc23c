"""Random inspection plans (双随机): choose region, subject type and per-grade ratios, preview how many
enterprises and inspectors the draw will take, create it, list plans with their inspections, verify one."""

from __future__ import annotations

import math
import uuid

from starlette.responses import Response

from console.clients import call, if_offered
from console.i18n import HOME_PROVINCE, child_divisions
from console.web import BadForm, Page, page_route, redirect
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.inspections.v1 import inspections_pb2 as I
from integrity.scoring.v1 import scoring_pb2 as S
from shared.auth import Role
from shared.regions import region_problem

REGULATOR = (Role.REGULATOR,)
# The service's defaults (services/inspections: A 0% unless triggered, B 10%, C 30%, D 100%, ungraded 10%).
DEFAULT_PERCENT = {"A": 0, "B": 10, "C": 30, "D": 100, "U": 10}
LEVEL_OF = {"A": 1, "B": 2, "C": 3, "D": 4, "U": 0}
INSPECTORS_PER_INSPECTION = 2


async def plan_list(page: Page) -> Response:
    token = page.request.query_params.get("page_token", "")
    response = await call(
        page.services.inspections.ListInspectionPlans,
        I.ListInspectionPlansRequest(page_size=20, page_token=token),
        page.token,
    )
    return page.render(
        "regulator/plans.html", plans=response.inspection_plans, next_token=response.next_page_token
    )


def _plan_form(page: Page, form: dict[str, str]) -> tuple[str, str, dict[str, float]]:
    region = form.get("region", "").strip() or (page.principal.region or "")
    if region_problem(region):
        raise BadForm("risk.bad_region", region)
    subject_type = form.get("subject_type", "")
    if subject_type and subject_type not in E.SubjectType.DESCRIPTOR.values_by_name:
        raise BadForm("risk.bad_subject_type", subject_type)
    percents: dict[str, float] = {}
    for letter, default in DEFAULT_PERCENT.items():
        raw = form.get(f"ratio_{letter}", "").strip()
        try:
            value = float(raw) if raw else float(default)
        except ValueError:
            raise BadForm("plans.bad_ratio", raw) from None
        if not 0 <= value <= 100:
            raise BadForm("plans.bad_ratio", raw)
        percents[letter] = value
    return region, subject_type, percents


async def plan_new(page: Page) -> Response:
    return page.render(
        "regulator/plan_new.html",
        region=page.principal.region,
        percents=DEFAULT_PERCENT,
        request_id=str(uuid.uuid4()),
        cities=child_divisions(page.principal.region or HOME_PROVINCE),
    )


async def plan_preview(page: Page) -> Response:
    """How many enterprises the ratios draw from the region's current grades, and the inspectors needed
    (two per inspection) against those on the roster: an estimate, since triggered enterprises are added."""
    form = {k: str(v) for k, v in (await page.request.form()).items()}
    region, subject_type, percents = _plan_form(page, form)
    terms = [f'region_code = "{region}"'] + ([f"subject_type = {subject_type}"] if subject_type else [])
    summary = await call(
        page.services.scoring.SummarizeGrades,
        S.SummarizeGradesRequest(filter=" AND ".join(terms), months=-1, change_days=-1),
        page.token,
    )
    counts = {S.GradeLevel.Name(c.level)[-1]: c.count for c in summary.counts}
    rows = [
        (
            letter,
            counts.get(letter, 0),
            percents[letter],
            math.ceil(counts.get(letter, 0) * percents[letter] / 100),
        )
        for letter in "ABCD"
    ]
    drawn = sum(row[3] for row in rows)
    inspectors = await call(
        page.services.inspections.ListInspectors,
        I.ListInspectorsRequest(region_code=region, page_size=1000),
        page.token,
    )
    available = sum(1 for i in inspectors.inspectors if i.available)
    return page.render(
        "regulator/plan_preview.html",
        rows=rows,
        drawn=drawn,
        needed=drawn * INSPECTORS_PER_INSPECTION,
        available=available,
    )


async def plan_create(page: Page) -> Response:
    form = {k: str(v) for k, v in (await page.request.form()).items()}
    region, subject_type, percents = _plan_form(page, form)
    try:
        seed = int(form.get("seed", "") or 0)
    except ValueError:
        raise BadForm("plans.bad_seed", form.get("seed", "")) from None
    plan = I.InspectionPlan(
        region_code=region,
        seed=seed,
        subject_type=E.SubjectType.Value(subject_type) if subject_type else 0,
        sampling_ratios=[I.SamplingRatio(level=LEVEL_OF[k], ratio=v / 100) for k, v in percents.items()],
    )
    created = await call(
        page.services.inspections.CreateInspectionPlan,
        I.CreateInspectionPlanRequest(inspection_plan=plan, request_id=form.get("request_id", "")),
        page.token,
    )
    return redirect(f"/regulator/{created.inspection_plan.name}")


async def plan_detail(page: Page, verification: I.VerifyInspectionPlanResponse | None = None) -> Response:
    name = f"inspectionPlans/{page.request.path_params['plan_id']}"
    response = await call(
        page.services.inspections.GetInspectionPlan, I.GetInspectionPlanRequest(name=name), page.token
    )
    return page.render(
        "regulator/plan.html",
        plan=response.inspection_plan,
        inspections=response.inspections,
        verification=verification,
    )


async def plan_verify(page: Page) -> Response:
    name = f"inspectionPlans/{page.request.path_params['plan_id']}"
    verification = await call(
        page.services.inspections.VerifyInspectionPlan, I.VerifyInspectionPlanRequest(name=name), page.token
    )
    return await plan_detail(page, verification)


async def inspections(page: Page) -> Response:
    """The region's inspections by state, e.g. the rectifications overdue (the dashboard links here)."""
    state = page.request.query_params.get("state", "")
    if state and state not in I.InspectionState.DESCRIPTOR.values_by_name:
        raise BadForm("plans.bad_state", state)
    listed = await if_offered(
        page.services.inspections,
        "ListInspections",
        I,
        "ListInspectionsRequest",
        page.token,
        filter=f"state = {state}" if state else "",
        page_size=200,
        page_token=page.request.query_params.get("page_token", ""),
    )
    return page.render(
        "regulator/inspections.html",
        inspections=None if listed is None else listed.inspections,
        next_token="" if listed is None else listed.next_page_token,
        state=state,
    )


ROUTES = [
    page_route("/regulator/inspections", inspections, REGULATOR),
    page_route("/regulator/plans", plan_list, REGULATOR),
    page_route("/regulator/plans/new", plan_new, REGULATOR),
    page_route("/regulator/plans/preview", plan_preview, REGULATOR, methods=("POST",)),
    page_route("/regulator/plans", plan_create, REGULATOR, methods=("POST",)),
    page_route("/regulator/inspectionPlans/{plan_id}", plan_detail, REGULATOR),
    page_route("/regulator/inspectionPlans/{plan_id}/verify", plan_verify, REGULATOR, methods=("POST",)),
]
