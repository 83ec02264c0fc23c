"""The enterprise's pages: my grade with its reasons and what would improve it, my integrity commitment
(declare, withdraw), my capability declaration, my instruments and when each is due, and an appeal.

Every page is under /enterprise/{uscc}; the services answer only the enterprise of the token, so the pages
of one USCC are refused to another (and /enterprise takes a person to their own)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from starlette.responses import Response

from console.clients import call, if_offered, optional
from console.i18n import CHINA
from console.web import BadForm, Page, embedded_json, page_route, redirect
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.scoring.v1 import scoring_pb2 as S
from shared.auth import Role

ENTERPRISE = (Role.ENTERPRISE,)
PAGES = ("grade", "commitment", "capability", "instruments", "appeal")


def _uscc(page: Page) -> str:
    return page.request.path_params["uscc"].upper()


async def own(page: Page) -> Response:
    return redirect(f"/enterprise/{page.principal.uscc}")


async def grade_page(page: Page) -> Response:
    name = f"enterprises/{_uscc(page)}"
    enterprise, grade, history = await asyncio.gather(
        call(page.services.enterprises.GetEnterprise, E.GetEnterpriseRequest(name=name), page.token),
        optional(call(page.services.scoring.GetGrade, S.GetGradeRequest(name=f"{name}/grade"), page.token)),
        call(
            page.services.scoring.ListGradeHistory,
            S.ListGradeHistoryRequest(parent=name, page_size=1000),
            page.token,
        ),
    )
    chart = {
        "points": [
            [e.grade.as_of.ToJsonString()[:10], e.grade.level, e.grade.score] for e in history.entries
        ],
        "labels": {"level": page.t("common.level"), "score": page.t("common.score")},
    }
    return page.render(
        "enterprise/grade.html",
        enterprise=enterprise.enterprise,
        grade=grade.grade if grade else None,
        chart_json=embedded_json(chart),
        uscc=_uscc(page),
        tab="grade",
    )


async def commitment_page(page: Page, problem: str = "") -> Response:
    name = f"enterprises/{_uscc(page)}"
    listed = await call(
        page.services.enterprises.ListCommitments, E.ListCommitmentsRequest(parent=name), page.token
    )
    today = datetime.now(CHINA).date()  # commitments are dated in China
    return page.render(
        "enterprise/commitment.html",
        commitments=listed.commitments,
        uscc=_uscc(page),
        tab="commitment",
        today=today.isoformat(),
        year_later=(today + timedelta(days=365)).isoformat(),
        problem=problem,
    )


async def commitment_create(page: Page) -> Response:
    form = await page.request.form()
    known = E.CommitmentItem.DESCRIPTOR.values_by_name
    items = [E.CommitmentItem.Value(str(v)) for v in form.getlist("items") if str(v) in known]
    if not items:
        raise BadForm("commitment.pick_items", "items")
    await call(
        page.services.enterprises.CreateCommitment,
        E.CreateCommitmentRequest(
            parent=f"enterprises/{_uscc(page)}",
            commitment=E.Commitment(
                items=items,
                free_text=str(form.get("free_text", "")).strip(),
                valid_from=str(form.get("valid_from", "")),
                valid_until=str(form.get("valid_until", "")),
            ),
            request_id=str(form.get("request_id", "")),
        ),
        page.token,
    )
    return redirect(f"/enterprise/{_uscc(page)}/commitment")


async def commitment_withdraw(page: Page) -> Response:
    name = f"enterprises/{_uscc(page)}/commitments/{page.request.path_params['commitment_id']}"
    await call(
        page.services.enterprises.WithdrawCommitment, E.WithdrawCommitmentRequest(name=name), page.token
    )
    return redirect(f"/enterprise/{_uscc(page)}/commitment")


async def capability_page(page: Page) -> Response:
    name = f"enterprises/{_uscc(page)}"
    listed = await call(
        page.services.enterprises.ListCapabilityDeclarations,
        E.ListCapabilityDeclarationsRequest(parent=name),
        page.token,
    )
    return page.render(
        "enterprise/capability.html", declarations=listed.declarations, uscc=_uscc(page), tab="capability"
    )


async def capability_declare(page: Page) -> Response:
    form = await page.request.form()
    try:
        instruments, staff = (
            int(str(form.get("instrument_count") or 0)),
            int(str(form.get("staff_count") or 0)),
        )
    except ValueError:
        raise BadForm("capability.bad_number", "instrument_count") from None
    await call(
        page.services.enterprises.DeclareCapability,
        E.DeclareCapabilityRequest(
            parent=f"enterprises/{_uscc(page)}",
            declaration=E.CapabilityDeclaration(
                has_management_system=form.get("management_system") == "true",
                iso10012_certificate_number=str(form.get("certificate", "")).strip(),
                instrument_count=instruments,
                metrology_staff_count=staff,
                in_house_calibration=form.get("in_house") == "true",
            ),
            request_id=str(form.get("request_id", "")),
        ),
        page.token,
    )
    return redirect(f"/enterprise/{_uscc(page)}/capability")


async def instruments_page(page: Page) -> Response:
    listed = await call(
        page.services.enterprises.ListInstruments,
        E.ListInstrumentsRequest(parent=f"enterprises/{_uscc(page)}", page_size=1000),
        page.token,
    )
    return page.render(
        "enterprise/instruments.html", instruments=listed.instruments, uscc=_uscc(page), tab="instruments"
    )


async def appeal_page(page: Page) -> Response:
    name = f"enterprises/{_uscc(page)}"
    grade = await optional(
        call(page.services.scoring.GetGrade, S.GetGradeRequest(name=f"{name}/grade"), page.token)
    )
    appeals = await if_offered(
        page.services.scoring, "ListAppeals", S, "ListAppealsRequest", page.token, parent=name
    )
    return page.render(
        "enterprise/appeal.html",
        grade=grade.grade if grade else None,
        appeals=None if appeals is None else appeals.appeals,
        filed=None,
        uscc=_uscc(page),
        tab="appeal",
    )


async def appeal_file(page: Page) -> Response:
    form = await page.request.form()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise BadForm("appeals.reason_required", "reason")
    filed = await call(
        page.services.scoring.CreateAppeal,
        S.CreateAppealRequest(
            parent=f"enterprises/{_uscc(page)}",
            appeal=S.Appeal(reason=reason),
            request_id=str(form.get("request_id", "")),
        ),
        page.token,
    )
    return page.render(
        "enterprise/appeal.html", grade=None, appeals=None, filed=filed.appeal, uscc=_uscc(page), tab="appeal"
    )


REPAIRABLE_RULES = ("SERIOUS_VIOLATION", "REFUSED_INSPECTION", "FALSE_CAPABILITY_DECLARATION")
HAS_APPLICATIONS = hasattr(S, "CreateCreditRepairApplicationRequest")


async def repair_page(page: Page) -> Response:
    """Apply for credit repair (信用修复) with a new commitment letter; my applications, their decisions."""
    listed = await if_offered(
        page.services.scoring,
        "ListCreditRepairApplications",
        S,
        "ListCreditRepairApplicationsRequest",
        page.token,
        parent=f"enterprises/{_uscc(page)}",
    )
    applications = None if listed is None else list(listed.credit_repair_applications)
    return page.render(
        "enterprise/repair.html",
        applications=applications,
        rules=REPAIRABLE_RULES,
        uscc=_uscc(page),
        tab="repair",
    )


async def repair_apply(page: Page) -> Response:
    form = await page.request.form()
    rule, letter = str(form.get("rule", "")), str(form.get("letter", "")).strip()
    if rule not in REPAIRABLE_RULES:
        raise BadForm("repairs.bad_rule", rule)
    if not letter:
        raise BadForm("repair.letter_required", "letter")
    if not HAS_APPLICATIONS:
        raise BadForm("common.not_available")
    await call(
        page.services.scoring.CreateCreditRepairApplication,  # type: ignore[attr-defined]
        S.CreateCreditRepairApplicationRequest(  # type: ignore[attr-defined]
            parent=f"enterprises/{_uscc(page)}",
            credit_repair_application=S.CreditRepairApplication(  # type: ignore[attr-defined]
                rule_code=rule,
                commitment_letter=letter,
                rectification_statement=str(form.get("statement", "")).strip(),
            ),
            request_id=str(form.get("request_id", "")),
        ),
        page.token,
    )
    return redirect(f"/enterprise/{_uscc(page)}/repair")


ROUTES = [
    page_route("/enterprise", own, ENTERPRISE),
    page_route("/enterprise/{uscc}", grade_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/commitment", commitment_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/commitment", commitment_create, ENTERPRISE, methods=("POST",)),
    page_route(
        "/enterprise/{uscc}/commitment/{commitment_id}/withdraw",
        commitment_withdraw,
        ENTERPRISE,
        methods=("POST",),
    ),
    page_route("/enterprise/{uscc}/capability", capability_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/capability", capability_declare, ENTERPRISE, methods=("POST",)),
    page_route("/enterprise/{uscc}/instruments", instruments_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/appeal", appeal_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/appeal", appeal_file, ENTERPRISE, methods=("POST",)),
    page_route("/enterprise/{uscc}/repair", repair_page, ENTERPRISE),
    page_route("/enterprise/{uscc}/repair", repair_apply, ENTERPRISE, methods=("POST",)),
]
