"""The regulator's pages, scoped by the services to the region of the regulator's token and its children:
the dashboard, the risk list with its exports, and an enterprise's page."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from starlette.responses import Response

from console.clients import SUMMARY_TIMEOUT_SECONDS, call, if_offered, optional
from console.exports import RISK_COLUMNS, csv_response, xlsx_response
from console.i18n import HOME_PROVINCE, child_divisions, division_name
from console.web import BadForm, Page, embedded_json, page_route
from integrity.complaints.v1 import complaints_pb2 as C
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.inspections.v1 import inspections_pb2 as I
from integrity.scoring.v1 import scoring_pb2 as S
from shared.auth import Role
from shared.industries import industry_problem
from shared.regions import region_problem

T = TypeVar("T")
REGULATOR = (Role.REGULATOR,)
RISK_PAGE_SIZE = 50
EXPORT_PAGE_SIZE = 1000
EXPORT_MAX_ROWS = 100_000
LEVELS = ("GRADE_LEVEL_A", "GRADE_LEVEL_B", "GRADE_LEVEL_C", "GRADE_LEVEL_D")


async def dashboard(page: Page) -> Response:
    region = page.principal.region or ""
    summary, overdue = await asyncio.gather(
        call(
            page.services.scoring.SummarizeGrades,
            S.SummarizeGradesRequest(months=12),
            page.token,
            SUMMARY_TIMEOUT_SECONDS,
        ),
        optional(
            call(
                page.services.complaints.ListOverdueComplaints,
                C.ListOverdueComplaintsRequest(page_size=1000),
                page.token,
            )
        ),
    )
    overdue_rectifications = await if_offered(
        page.services.inspections,
        "ListInspections",
        I,
        "ListInspectionsRequest",
        page.token,
        filter="state = INSPECTION_STATE_RECTIFICATION_OVERDUE",
        page_size=1000,
    )
    chart = {
        "levels": [page.t(f"level.{letter}") for letter in "ABCD"],
        "months": [m.month for m in summary.months],
        "series": [[_count(m.counts, level) for m in summary.months] for level in LEVELS],
        "now": [_count(summary.counts, level) for level in LEVELS],
        "regions": [
            {
                "code": r.region_code,
                "name": division_name(r.region_code),
                "share": _share_cd(r.counts),
                "total": sum(c.count for c in r.counts),
            }
            for r in summary.regions
        ],
        "map": _map_name(region),
        "labels": {"share": page.t("dash.share_cd"), "total": page.t("common.total")},
    }
    return page.render(
        "regulator/dashboard.html",
        summary=summary,
        chart_json=embedded_json(chart),
        total=sum(c.count for c in summary.counts),
        level_counts={level: _count(summary.counts, level) for level in LEVELS},
        overdue_complaints=None if overdue is None else len(overdue.complaints),
        overdue_complaints_more=bool(overdue and overdue.next_page_token),
        overdue_rectifications=None
        if overdue_rectifications is None
        else len(overdue_rectifications.inspections),
        region_names={r.region_code: division_name(r.region_code) for r in summary.regions},
        region_title=_region_title(region),
    )


def _region_title(region: str) -> str:
    return division_name(region)


def _count(counts: Any, level: str) -> int:
    return sum(c.count for c in counts if S.GradeLevel.Name(c.level) == level)


def _share_cd(counts: Any) -> float:
    total = sum(c.count for c in counts)
    risky = sum(c.count for c in counts if c.level in (S.GRADE_LEVEL_C, S.GRADE_LEVEL_D))
    return round(100.0 * risky / total, 1) if total else 0.0


def _map_name(region: str) -> str:
    """The boundary file of the regulator's region: a province's cities, a city's counties."""
    if region.endswith("0000"):
        return f"{region}"
    if region.endswith("00"):
        return region
    return region[:4] + "00"


def risk_filter(page: Page) -> tuple[str, dict[str, str]]:
    """The AIP-160 filter of the risk list's query parameters, and the values for the form."""
    params = page.request.query_params
    values = {
        k: params.get(k, "").strip() for k in ("region", "industry", "subject_type", "level", "provisional")
    }
    terms = []
    if values["region"]:
        if region_problem(values["region"]):
            raise BadForm("risk.bad_region", values["region"])
        terms.append(f'region_code = "{values["region"]}"')
    if values["industry"]:
        if industry_problem(values["industry"]):
            raise BadForm("risk.bad_industry", values["industry"])
        terms.append(f'industry_code = "{values["industry"]}"')
    if values["subject_type"]:
        if values["subject_type"] not in E.SubjectType.DESCRIPTOR.values_by_name:
            raise BadForm("risk.bad_subject_type", values["subject_type"])
        terms.append(f"subject_type = {values['subject_type']}")
    if values["level"]:
        if values["level"] not in LEVELS:
            raise BadForm("risk.bad_level", values["level"])
        terms.append(f"level = {values['level']}")
    if values["provisional"] in ("true", "false"):
        terms.append(f"provisional = {values['provisional']}")
    return " AND ".join(terms), values


async def risk_list(page: Page) -> Response:
    filter_text, values = risk_filter(page)
    token = page.request.query_params.get("page_token", "")
    response = await call(
        page.services.scoring.ListRiskEntries,
        S.ListRiskEntriesRequest(filter=filter_text, page_size=RISK_PAGE_SIZE, page_token=token),
        page.token,
    )
    template = "regulator/risk_rows.html" if page.request.headers.get("hx-request") else "regulator/risk.html"
    return page.render(
        template,
        entries=response.risk_entries,
        next_token=response.next_page_token,
        first_page=not token,
        values=values,
        query_without_token=_query_without_token(page),
        cities=child_divisions(page.principal.region or HOME_PROVINCE),
    )


def _query_without_token(page: Page) -> str:
    return "&".join(f"{k}={v}" for k, v in page.request.query_params.items() if k != "page_token" and v)


async def _all_risk_entries(page: Page) -> list[S.RiskEntry]:
    filter_text, _ = risk_filter(page)
    entries: list[S.RiskEntry] = []
    token = ""
    while len(entries) < EXPORT_MAX_ROWS:
        response = await call(
            page.services.scoring.ListRiskEntries,
            S.ListRiskEntriesRequest(filter=filter_text, page_size=EXPORT_PAGE_SIZE, page_token=token),
            page.token,
        )
        entries += response.risk_entries
        token = response.next_page_token
        if not token:
            break
    return entries


async def risk_csv(page: Page) -> Response:
    return csv_response(await _all_risk_entries(page), page.lang, "risk-list.csv", RISK_COLUMNS)


async def risk_xlsx(page: Page) -> Response:
    return xlsx_response(await _all_risk_entries(page), page.lang, "risk-list.xlsx", RISK_COLUMNS)


async def enterprise_page(page: Page) -> Response:
    uscc = page.request.path_params["uscc"].upper()
    name = f"enterprises/{uscc}"
    enterprise = await call(
        page.services.enterprises.GetEnterprise, E.GetEnterpriseRequest(name=name), page.token
    )
    grade, history, instruments, commitments, capabilities, complaints, inspections = await asyncio.gather(
        optional(call(page.services.scoring.GetGrade, S.GetGradeRequest(name=f"{name}/grade"), page.token)),
        call(
            page.services.scoring.ListGradeHistory,
            S.ListGradeHistoryRequest(parent=name, page_size=1000),
            page.token,
        ),
        call(
            page.services.enterprises.ListInstruments,
            E.ListInstrumentsRequest(parent=name, page_size=1000),
            page.token,
        ),
        call(page.services.enterprises.ListCommitments, E.ListCommitmentsRequest(parent=name), page.token),
        call(
            page.services.enterprises.ListCapabilityDeclarations,
            E.ListCapabilityDeclarationsRequest(parent=name),
            page.token,
        ),
        optional(
            call(
                page.services.complaints.ListComplaints,
                C.ListComplaintsRequest(filter=f'enterprise = "{name}"', page_size=1000),
                page.token,
            )
        ),
        if_offered(
            page.services.inspections,
            "ListInspections",
            I,
            "ListInspectionsRequest",
            page.token,
            filter=f'enterprise = "{name}"',
            page_size=1000,
        ),
    )
    chart = {
        "points": [
            [e.grade.as_of.ToJsonString()[:10], e.grade.level, e.grade.score] for e in history.entries
        ],
        "labels": {"level": page.t("common.level"), "score": page.t("common.score")},
    }
    substantiated = [c for c in (complaints.complaints if complaints else []) if c.substantiated]
    return page.render(
        "regulator/enterprise.html",
        enterprise=enterprise.enterprise,
        grade=grade.grade if grade else None,
        history=history.entries,
        chart_json=embedded_json(chart),
        instruments=instruments.instruments,
        commitments=commitments.commitments,
        capabilities=capabilities.declarations,
        complaints=substantiated,
        inspections=None if inspections is None else inspections.inspections,
        timeline=_timeline(instruments.instruments, substantiated, inspections),
    )


def _timeline(instruments: Any, complaints: list[C.Complaint], inspections: Any) -> list[dict[str, Any]]:
    """Inspections, substantiated complaints (never who filed them) and verifications, newest first."""
    items: list[dict[str, Any]] = []
    for instrument in instruments:
        verification = instrument.last_verification
        if verification.verification_date:
            items.append({"date": verification.verification_date, "kind": "verification", "item": instrument})
    for complaint in complaints:
        items.append(
            {"date": complaint.update_time.ToJsonString()[:10], "kind": "complaint", "item": complaint}
        )
    for inspection in inspections.inspections if inspections else []:
        if inspection.complete_time.seconds:
            items.append(
                {
                    "date": inspection.complete_time.ToJsonString()[:10],
                    "kind": "inspection",
                    "item": inspection,
                }
            )
    return sorted(items, key=lambda item: item["date"], reverse=True)


ROUTES = [
    page_route("/regulator", dashboard, REGULATOR),
    page_route("/regulator/risk", risk_list, REGULATOR),
    page_route("/regulator/risk.csv", risk_csv, REGULATOR),
    page_route("/regulator/risk.xlsx", risk_xlsx, REGULATOR),
    page_route("/regulator/enterprises/{uscc}", enterprise_page, REGULATOR),
]
