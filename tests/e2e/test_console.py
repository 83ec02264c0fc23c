"""The web console in a real browser (headless Chromium) against the started stack, through every role's
main journey: a regulator filters the risk list, opens an enterprise and draws a plan; an inspector records
a result and the grade changes; an enterprise declares a commitment and the public page shows it; an
enterprise trying another enterprise's page is refused; an expired session returns to sign-in and back.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from playwright.sync_api import BrowserContext, Playwright, expect, sync_playwright

from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.enterprises.v1 import enterprises_pb2_grpc
from integrity.inspections.v1 import inspections_pb2 as I
from integrity.inspections.v1 import inspections_pb2_grpc
from integrity.scoring.v1 import scoring_pb2 as S
from integrity.scoring.v1 import scoring_pb2_grpc
from operations.broker import LocalBroker
from services.enterprises.domain.values import china_today
from tests.e2e.browser import browser_context, chromium_missing, sign_in
from tests.e2e.test_stack import STARTUP_SECONDS, RunningStack, start_stack, stop
from tests.helpers import valid_uscc, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    # Skipped on a developer's machine without chromium; in CI (.ci/run installs it) a missing browser fails.
    pytest.mark.skipif(
        chromium_missing() is not None and not os.environ.get("CI"), reason=str(chromium_missing())
    ),
]

REGION = "610113"  # 雁塔区, Xi'an
MINE, THEIRS, THIRD = (valid_uscc(n, REGION) for n in (501, 502, 503))
BADGES = ("XA901", "XA902")


@dataclass
class Console:
    stack: RunningStack
    base: str

    def metadata(self, *token_args: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.stack.token(*token_args)}")]


@pytest.fixture(scope="module")
def console(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    running = start_stack(tmp_path_factory.mktemp("console") / "var", broker.bootstrap)
    try:
        running.wait_for_line("ready:", STARTUP_SECONDS)
        console = Console(running, f"http://127.0.0.1:{running.ports['console']}")
        _seed(console)
        yield console
    finally:
        stop(running)


def _seed(console: Console) -> None:
    """Three fuel stations and two inspectors, registered over gRPC as the other systems would; waits
    until scoring has graded the stations (provisional B)."""
    system = console.metadata("--role", "system")
    with grpc.insecure_channel(console.stack.address("enterprises")) as channel:
        stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
        for number, uscc in enumerate((MINE, THEIRS, THIRD), start=1):
            enterprise = E.Enterprise(
                uscc=uscc,
                display_name=f"西安市雁塔区第{number}加油站",
                region_code=REGION,
                industry_code="F5265",
                subject_type=E.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
                size_class=E.SIZE_CLASS_SMALL,
            )
            stub.CreateEnterprise(
                E.CreateEnterpriseRequest(enterprise=enterprise, request_id=str(uuid.uuid4())),
                metadata=system,
                timeout=10,
            )
    regulator = console.metadata("--role", "regulator", "--region", "610100")
    with grpc.insecure_channel(console.stack.address("inspections")) as channel:
        stub = inspections_pb2_grpc.InspectionServiceStub(channel)
        for badge in BADGES:
            inspector = I.Inspector(
                display_name=f"执法人员{badge}",
                region_code=REGION,
                qualifications=[I.QUALIFICATION_FUEL_DISPENSERS],
            )
            stub.CreateInspector(
                I.CreateInspectorRequest(inspector=inspector, inspector_id=badge),
                metadata=regulator,
                timeout=10,
            )
    for uscc in (MINE, THEIRS, THIRD):
        wait_until(
            lambda uscc=uscc: grade_of(console, uscc),
            timeout=120,
            interval=0.5,
            message=f"{uscc} never graded",
        )

    # The inspections service keeps its own copy of the enterprises from the same topic: give its consumer
    # a moment after scoring's (the plan below also draws ungraded enterprises, so their grades need not
    # have reached it).
    time.sleep(3)


def grade_of(console: Console, uscc: str) -> S.Grade | None:
    with grpc.insecure_channel(console.stack.address("scoring")) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        request = S.GetGradeRequest(name=f"enterprises/{uscc}/grade")
        try:
            return stub.GetGrade(request, metadata=console.metadata("--role", "system"), timeout=10).grade
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                return None
            raise


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[BrowserContext]:
    with browser_context(playwright, viewport={"width": 1280, "height": 900}) as context:
        yield context


def test_a_regulator_filters_the_risk_list_opens_an_enterprise_and_draws_a_plan(
    console: Console, browser: BrowserContext
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, console.base, "regulator", region="610100")
    expect(page).to_have_url(f"{console.base}/regulator")
    expect(page.locator(".tile.l2 .n")).to_have_text(re.compile(r"[1-9]"))  # grade B, from SummarizeGrades
    expect(page.locator("#chart-months canvas")).to_have_count(1)  # ECharts drew, within the CSP

    page.goto(f"{console.base}/regulator/risk")
    page.select_option("select[name=level]", "GRADE_LEVEL_B")
    page.fill("input[name=region]", REGION)
    page.click("#risk-filters button[type=submit]")
    expect(page.locator("#risk-rows .risk-row")).to_have_count(3)
    page.select_option("select[name=level]", "GRADE_LEVEL_D")
    page.click("#risk-filters button[type=submit]")
    expect(page.locator("#risk-rows")).to_contain_text("没有符合条件的企业")
    page.select_option("select[name=level]", "")
    page.click("#risk-filters button[type=submit]")
    with page.expect_download() as download:
        page.click("text=CSV")
    assert MINE in Path(download.value.path()).read_text(encoding="utf-8-sig")

    page.click(f"a[href='/regulator/enterprises/{MINE}']")
    expect(page.locator("#enterprise-name")).to_have_text("西安市雁塔区第1加油站")
    expect(page.locator("#grade-level")).to_have_text("B")

    page.goto(f"{console.base}/regulator/plans/new")
    page.fill("input[name=region]", REGION)
    page.fill("input[name=ratio_B]", "100")
    page.fill("input[name=ratio_U]", "100")
    page.click("#preview-button")  # htmx: the preview comes back into the form
    expect(page.locator("#preview-enterprises")).to_have_text("3")
    expect(page.locator("#preview-inspectors")).to_have_text("2")
    page.click("#create-plan")
    expect(page.locator("#plan-inspections tbody tr")).to_have_count(3)
    page.click("#verify-plan")
    expect(page.locator("#verify-result")).to_contain_text("验证通过")
    page.goto(f"{console.base}/regulator/plans")
    expect(page.locator("#plans tbody tr")).to_have_count(1)
    assert errors == []


def _planned_inspection(console: Console, uscc: str) -> I.Inspection:
    regulator = console.metadata("--role", "regulator", "--region", "610100")
    with grpc.insecure_channel(console.stack.address("inspections")) as channel:
        stub = inspections_pb2_grpc.InspectionServiceStub(channel)
        plans = stub.ListInspectionPlans(I.ListInspectionPlansRequest(), metadata=regulator, timeout=10)
        for plan in plans.inspection_plans:
            detail = stub.GetInspectionPlan(
                I.GetInspectionPlanRequest(name=plan.name), metadata=regulator, timeout=10
            )
            for inspection in detail.inspections:
                if (
                    inspection.enterprise == f"enterprises/{uscc}"
                    and inspection.state == I.INSPECTION_STATE_PLANNED
                ):
                    return inspection
    raise AssertionError(f"no planned inspection of {uscc}; the regulator's journey draws one")


def test_an_inspector_records_a_result_and_the_grade_changes(
    console: Console, browser: BrowserContext
) -> None:
    inspection = _planned_inspection(console, THIRD)
    page = browser.new_page()
    sign_in(page, console.base, "inspector", region="610100", subject=inspection.inspectors[0])
    page.goto(f"{console.base}/inspector/{inspection.name}")
    page.select_option("select[name=outcome]", "INSPECTION_OUTCOME_SERIOUS_VIOLATION")
    page.fill("input[name=instrument_0]", "JYJ-0001")
    page.check("input[name=instrument_tampering_0]")
    page.fill("input[name=penalty_reference]", "西市监罚〔2026〕9号")
    # A rectification deadline lies within a year of the inspection.
    page.fill("input[name=deadline]", (china_today() + timedelta(days=60)).isoformat())
    page.click("#submit-result")
    expect(page.locator("#result-saved")).to_be_visible()
    expect(page.locator("#inspection-state")).to_have_text("整改中")

    # Through Kafka to scoring: a tampered instrument is a serious violation, grade D.
    wait_until(
        lambda: (grade := grade_of(console, THIRD)) is not None and grade.level == S.GRADE_LEVEL_D,
        timeout=90,
        interval=0.5,
        message="the grade never became D",
    )
    sign_in(page, console.base, "regulator", region="610100")
    page.goto(f"{console.base}/regulator/enterprises/{THIRD}")
    expect(page.locator("#grade-level")).to_have_text("D")


def test_an_enterprise_declares_a_commitment_and_the_public_page_shows_it(
    console: Console, browser: BrowserContext, playwright: Playwright
) -> None:
    page = browser.new_page()
    sign_in(page, console.base, "enterprise", uscc=MINE)
    expect(page).to_have_url(f"{console.base}/enterprise/{MINE}")
    page.click("nav.tabs >> text=诚信承诺")
    page.fill("textarea[name=free_text]", "缺一赔十")
    page.click("#declare-commitment")
    code_link = page.locator("#commitments a.code").first
    expect(code_link).to_have_text(re.compile(r"^CMT-"))
    code = code_link.inner_text()

    with browser_context(
        playwright, viewport={"width": 390, "height": 760}
    ) as phone:  # the public, on a phone
        public = phone.new_page()
        public.goto(f"{console.base}/codes")
        public.fill("input[name=code]", code.lower())
        public.click("form[role=search] button")
        expect(public.locator("#enterprise-name")).to_have_text("西安市雁塔区第1加油站")
        expect(public.locator("#commitment-state")).to_have_text("有效")
        qr = public.request.get(f"{console.base}/codes/{code}/qr.svg")
        assert qr.ok and qr.headers["content-type"].startswith("image/svg+xml")

    page.click("form[action$='/withdraw'] button")
    expect(page.locator("#commitments .state").first).to_have_text("已撤回")


def test_an_enterprise_is_refused_another_enterprises_pages(
    console: Console, browser: BrowserContext
) -> None:
    page = browser.new_page()
    sign_in(page, console.base, "enterprise", uscc=MINE)
    for path in (f"/enterprise/{THEIRS}", f"/enterprise/{THEIRS}/commitment", "/regulator/risk"):
        response = page.goto(console.base + path)
        assert response is not None and response.status == 403, path
        expect(page.locator(".notice.error .message")).to_contain_text("无权")
        assert "西安市雁塔区第2加油站" not in page.content()


def test_english_on_request_and_an_expired_session_returns_to_sign_in_and_back(
    console: Console, browser: BrowserContext
) -> None:
    page = browser.new_page()
    page.goto(f"{console.base}/results")
    page.click("a.lang")
    expect(page.locator("h1")).to_have_text("Published results")

    short = console.stack.token("--role", "regulator", "--region", "610100", "--ttl", "5")
    issued = time.monotonic()
    page.goto(f"{console.base}/sign-in?next=/regulator/risk")
    page.click("details.panel summary")
    page.fill("textarea[name=token]", short)
    page.click("form[action='/sign-in/token'] button")
    expect(page.locator("#risk-table")).to_be_visible()  # signed in with the identity provider's token
    time.sleep(max(0.0, issued + 6 - time.monotonic()))  # and now it has expired
    page.goto(f"{console.base}/regulator/risk?level=GRADE_LEVEL_B")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/regulator/risk"))
    expect(page.locator(".notice").first).to_contain_text("expired")
    page.check("input[name=role][value=regulator]")
    page.fill("input[name=region]", "610100")
    page.click("form[action='/sign-in'] button[type=submit]")
    expect(page).to_have_url(f"{console.base}/regulator/risk?level=GRADE_LEVEL_B")


WORKFLOWS = pytest.mark.skipif(
    not hasattr(S, "ListAppealsRequest") or not hasattr(I, "ListInspectionsRequest"),
    reason="needs the workflows issue's ListAppeals and ListInspections",
)


@WORKFLOWS
def test_an_appeal_goes_from_the_enterprise_to_the_regulators_queue_and_is_decided(
    console: Console, browser: BrowserContext
) -> None:
    page = browser.new_page()
    sign_in(page, console.base, "enterprise", uscc=THEIRS)
    page.goto(f"{console.base}/enterprise/{THEIRS}/appeal")
    page.fill("textarea[name=reason]", "本站计量器具均已按期检定，请求复核。")
    page.click("form.form button[type=submit]")
    expect(page.locator("#appeal-filed")).to_contain_text("待处理")

    sign_in(page, console.base, "regulator", region="610100")
    page.goto(f"{console.base}/regulator/appeals")
    page.click(f"#appeals a:has-text('{THEIRS}')")
    page.check("input[name=decision][value=accept]")
    page.select_option("select[name=level]", "GRADE_LEVEL_A")
    page.fill("textarea[name=reason]", "核实无误。")
    page.click("form.form button[type=submit]")
    expect(page.locator("#appeal-state")).to_have_text("已采纳")
    page.goto(f"{console.base}/regulator/appeals")
    expect(page.locator("#overrides")).to_contain_text(THEIRS)  # an override in force, to review


@WORKFLOWS
def test_an_inspector_sees_the_assigned_inspections(console: Console, browser: BrowserContext) -> None:
    inspection = _planned_inspection(console, MINE)
    page = browser.new_page()
    sign_in(page, console.base, "inspector", region="610100", subject=inspection.inspectors[1])
    page.goto(f"{console.base}/inspector")
    expect(page.locator(f"#my-inspections a[href='/inspector/{inspection.name}']")).to_be_visible()
    page.click(f"#my-inspections a[href='/inspector/{inspection.name}']")
    expect(page.locator("#result-form")).to_be_visible()
