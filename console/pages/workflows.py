"""The regulator's work queues: appeals (accept with an override level and expiry, or reject, with a
reason), credit repair, and complaints with their deadlines and workflow actions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

from starlette.responses import Response

from console.clients import call, if_offered
from console.i18n import CHINA
from console.web import BadForm, Page, page_route, redirect
from integrity.complaints.v1 import complaints_pb2 as C
from integrity.scoring.v1 import scoring_pb2 as S
from shared.auth import Role

REGULATOR = (Role.REGULATOR,)
REPAIRABLE_RULES = ("SERIOUS_VIOLATION", "REFUSED_INSPECTION", "FALSE_CAPABILITY_DECLARATION")
COMPLAINT_ACTIONS = ("accept", "reject", "investigate", "resolve", "close")
OVERRIDE_ACTIONS = (
    "OVERRIDE_REVIEW_ACTION_CONFIRM",
    "OVERRIDE_REVIEW_ACTION_SHORTEN",
    "OVERRIDE_REVIEW_ACTION_LIFT",
)
HAS_APPLICATIONS = hasattr(S, "ListCreditRepairApplicationsRequest")


async def _appeal_list(page: Page, filter_text: str) -> list[S.Appeal] | None:
    """The region's appeals the filter selects, oldest first; None while scoring offers no ListAppeals."""
    listed = await if_offered(
        page.services.scoring,
        "ListAppeals",
        S,
        "ListAppealsRequest",
        page.token,
        parent="enterprises/-",
        filter=filter_text,
        page_size=200,
    )
    return None if listed is None else list(listed.appeals)


async def appeals(page: Page) -> Response:
    pending, overrides = await asyncio.gather(
        _appeal_list(page, "state = APPEAL_STATE_PENDING"), _appeal_list(page, "override_active = true")
    )
    return page.render("regulator/appeals.html", appeals=pending, overrides=overrides)


async def appeal_open(page: Page) -> Response:
    """The appeal a person names, `enterprises/{uscc}/appeals/{id}`."""
    parts = page.request.query_params.get("name", "").strip().split("/")
    if len(parts) != 4 or parts[0] != "enterprises" or parts[2] != "appeals":
        raise BadForm("appeals.bad_name", "/".join(parts))
    return redirect(f"/regulator/appeals/{parts[1]}/{parts[3]}")


def _appeal_name(page: Page) -> str:
    return f"enterprises/{page.request.path_params['uscc']}/appeals/{page.request.path_params['appeal_id']}"


async def appeal_detail(page: Page) -> Response:
    response = await call(
        page.services.scoring.GetAppeal, S.GetAppealRequest(name=_appeal_name(page)), page.token
    )
    return page.render("regulator/appeal.html", appeal=response.appeal, uscc=page.request.path_params["uscc"])


async def appeal_decide(page: Page) -> Response:
    form = await page.request.form()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise BadForm("appeals.reason_required", "reason")
    name = _appeal_name(page)
    if form.get("decision") == "review":  # an accepted appeal's override, confirmed, shortened or lifted
        action = str(form.get("action", ""))
        if not hasattr(S, "ReviewAppealOverrideRequest") or action not in OVERRIDE_ACTIONS:
            raise BadForm("appeals.bad_review", action)
        review = S.ReviewAppealOverrideRequest(
            name=name, action=S.OverrideReviewAction.Value(action), reason=reason
        )  # type: ignore[attr-defined]
        if action.endswith("SHORTEN"):
            review.override_expire_time.FromDatetime(_china_end_of_day(str(form.get("expires", ""))))
        await call(page.services.scoring.ReviewAppealOverride, review, page.token)  # type: ignore[attr-defined]
    elif form.get("decision") == "accept":
        request = S.AcceptAppealRequest(
            name=name,
            override_level=S.GradeLevel.Value(str(form.get("level", "GRADE_LEVEL_B"))),
            reason=reason,
        )
        if expiry := str(form.get("expires", "")).strip():
            request.override_expire_time.FromDatetime(_china_end_of_day(expiry))
        await call(page.services.scoring.AcceptAppeal, request, page.token)
    else:
        await call(
            page.services.scoring.RejectAppeal, S.RejectAppealRequest(name=name, reason=reason), page.token
        )
    return redirect(
        f"/regulator/appeals/{page.request.path_params['uscc']}/{page.request.path_params['appeal_id']}"
    )


def _china_end_of_day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise BadForm("form.bad_date", text) from None
    return datetime.combine(day, time(23, 59, 59), CHINA).astimezone(UTC)


async def _pending_applications(page: Page) -> list[Any] | None:
    """The region's credit repair applications waiting for a decision; None while scoring has none."""
    listed = await if_offered(
        page.services.scoring,
        "ListCreditRepairApplications",
        S,
        "ListCreditRepairApplicationsRequest",
        page.token,
        parent="enterprises/-",
        filter="state = CREDIT_REPAIR_APPLICATION_STATE_PENDING",
        page_size=200,
    )
    return None if listed is None else list(listed.credit_repair_applications)


async def repairs(page: Page, granted: Any = None) -> Response:
    return page.render(
        "regulator/repairs.html",
        rules=REPAIRABLE_RULES,
        granted=granted,
        applications=await _pending_applications(page),
    )


async def application_decide(page: Page) -> Response:
    """Grants or refuses an enterprise's credit repair application, with a reason."""
    params = page.request.path_params
    form = await page.request.form()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise BadForm("appeals.reason_required", "reason")
    if not HAS_APPLICATIONS:
        raise BadForm("common.not_available")
    name = f"enterprises/{params['uscc']}/creditRepairApplications/{params['application_id']}"
    if form.get("decision") == "grant":
        await call(
            page.services.scoring.GrantCreditRepairApplication,  # type: ignore[attr-defined]
            S.GrantCreditRepairApplicationRequest(name=name, reason=reason),  # type: ignore[attr-defined]
            page.token,
        )
    else:
        await call(
            page.services.scoring.RefuseCreditRepairApplication,  # type: ignore[attr-defined]
            S.RefuseCreditRepairApplicationRequest(name=name, reason=reason),  # type: ignore[attr-defined]
            page.token,
        )
    return redirect("/regulator/repairs")


async def repair_grant(page: Page) -> Response:
    form = await page.request.form()
    uscc = str(form.get("uscc", "")).strip().upper()
    rule = str(form.get("rule", ""))
    reason = str(form.get("reason", "")).strip()
    if rule not in REPAIRABLE_RULES:
        raise BadForm("repairs.bad_rule", rule)
    granted = await call(
        page.services.scoring.CreateCreditRepair,
        S.CreateCreditRepairRequest(
            parent=f"enterprises/{uscc}",
            credit_repair=S.CreditRepair(rule_code=rule, reason=reason),
            request_id=str(form.get("request_id", "")),
        ),
        page.token,
    )
    return await repairs(page, granted.credit_repair)


async def complaints(page: Page) -> Response:
    params = page.request.query_params
    state = params.get("state", "")
    overdue = params.get("overdue") == "1"
    token = params.get("page_token", "")
    if overdue:
        response = await call(
            page.services.complaints.ListOverdueComplaints,
            C.ListOverdueComplaintsRequest(page_size=50, page_token=token),
            page.token,
        )
    else:
        if state and state not in C.ComplaintState.DESCRIPTOR.values_by_name:
            raise BadForm("complaints.bad_state", state)
        response = await call(
            page.services.complaints.ListComplaints,
            C.ListComplaintsRequest(
                filter=f"state = {state.removeprefix('COMPLAINT_STATE_')}" if state else "",
                page_size=50,
                page_token=token,
            ),
            page.token,
        )
    return page.render(
        "regulator/complaints.html",
        complaints=response.complaints,
        next_token=response.next_page_token,
        state=state,
        overdue=overdue,
        now=datetime.now(UTC),
    )


async def complaint_detail(page: Page) -> Response:
    name = f"complaints/{page.request.path_params['complaint_id']}"
    response = await call(page.services.complaints.GetComplaint, C.GetComplaintRequest(name=name), page.token)
    return page.render("regulator/complaint.html", complaint=response.complaint)


async def complaint_act(page: Page) -> Response:
    complaint_id = page.request.path_params["complaint_id"]
    action = page.request.path_params["action"]
    if action not in COMPLAINT_ACTIONS:
        raise BadForm("complaints.bad_action", action)
    form = await page.request.form()
    name, etag = f"complaints/{complaint_id}", str(form.get("etag", ""))
    service = page.services.complaints
    if action == "accept":
        await call(service.AcceptComplaint, C.AcceptComplaintRequest(name=name, etag=etag), page.token)
    elif action == "reject":
        reason = str(form.get("reason", "")).strip()
        await call(
            service.RejectComplaint, C.RejectComplaintRequest(name=name, reason=reason, etag=etag), page.token
        )
    elif action == "investigate":
        await call(
            service.InvestigateComplaint, C.InvestigateComplaintRequest(name=name, etag=etag), page.token
        )
    elif action == "resolve":
        substantiated = form.get("substantiated") == "true"
        severity = str(form.get("severity", "")) if substantiated else ""
        await call(
            service.ResolveComplaint,
            C.ResolveComplaintRequest(
                name=name,
                etag=etag,
                substantiated=substantiated,
                resolution=str(form.get("resolution", "")).strip(),
                severity=C.ComplaintSeverity.Value(severity) if severity else 0,
                reward_eligible=substantiated and form.get("reward") == "true",
            ),
            page.token,
        )
    else:
        await call(service.CloseComplaint, C.CloseComplaintRequest(name=name, etag=etag), page.token)
    return redirect(f"/regulator/complaints/{complaint_id}")


ROUTES = [
    page_route("/regulator/appeals", appeals, REGULATOR),
    page_route("/regulator/appeals/open", appeal_open, REGULATOR),
    page_route("/regulator/appeals/{uscc}/{appeal_id}", appeal_detail, REGULATOR),
    page_route("/regulator/appeals/{uscc}/{appeal_id}", appeal_decide, REGULATOR, methods=("POST",)),
    page_route("/regulator/repairs", repairs, REGULATOR),
    page_route("/regulator/repairs", repair_grant, REGULATOR, methods=("POST",)),
    page_route(
        "/regulator/repairs/{uscc}/{application_id}", application_decide, REGULATOR, methods=("POST",)
    ),
    page_route("/regulator/complaints", complaints, REGULATOR),
    page_route("/regulator/complaints/{complaint_id}", complaint_detail, REGULATOR),
    page_route("/regulator/complaints/{complaint_id}/{action}", complaint_act, REGULATOR, methods=("POST",)),
]
