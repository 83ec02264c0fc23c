"""What anyone sees without signing in: the home page, published inspection results (一公开) with search,
and a page per public code (CMT-…, CAP-…) with a QR code a shop prints and displays (诚信计量承诺码)."""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg
from starlette.responses import Response

from console.clients import call
from console.i18n import child_divisions
from console.web import LANG_COOKIE, PUBLIC, Page, page_route, redirect, safe_next
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.inspections.v1 import inspections_pb2 as I
from shared.auth import Role
from shared.regions import region_problem

# Results fetched per search; the published list is filtered here by name or USCC.
SEARCH_PAGES = 10
PAGE_SIZE = 50
_CODE = re.compile(r"^[A-Za-z]{3}-[0-9A-Za-z]{4,20}$")
HOME_OF = {
    Role.REGULATOR: "/regulator",
    Role.INSPECTOR: "/inspector",
    Role.ENTERPRISE: "/enterprise",
}


async def home(page: Page) -> Response:
    if page.principal.role in HOME_OF:
        return redirect(HOME_OF[page.principal.role])
    return page.render("home.html")


async def language(page: Page) -> Response:
    chosen = page.request.query_params.get("to", "zh")
    response = redirect(safe_next(page.request.query_params.get("next")))
    response.set_cookie(
        LANG_COOKIE, "en" if chosen == "en" else "zh", max_age=365 * 86400, httponly=True, samesite="lax"
    )
    return response


async def results(page: Page) -> Response:
    params = page.request.query_params
    region = params.get("region", "").strip()
    text = params.get("q", "").strip()
    token = params.get("page_token", "")
    problem = region_problem(region) if region else None
    found: list[I.PublishedResult] = []
    next_token = ""
    if not problem:
        for _ in range(SEARCH_PAGES if text else 1):
            response = await call(
                page.services.inspections.ListPublishedResults,
                I.ListPublishedResultsRequest(region_code=region, page_size=PAGE_SIZE, page_token=token),
                None,  # public: no token, so only what the public may see
            )
            found += [r for r in response.results if _matches(r, text)]
            token = next_token = response.next_page_token
            if not token or len(found) >= PAGE_SIZE:
                break
    return page.render(
        "public/results.html",
        results=found,
        region=region,
        q=text,
        problem=problem,
        next_token=next_token,
        cities=child_divisions(),
    )


def _matches(result: I.PublishedResult, text: str) -> bool:
    if not text:
        return True
    return text.lower() in result.enterprise_display_name.lower() or text.upper() in result.enterprise


async def code_lookup(page: Page) -> Response:
    code = page.request.query_params.get("code", "").strip().upper()
    if code:
        return redirect(f"/codes/{code}") if _CODE.match(code) else page.render("public/codes.html", bad=code)
    return page.render("public/codes.html", bad="")


async def code_page(page: Page) -> Response:
    code = page.request.path_params["code"].upper()
    found = await call(
        page.services.enterprises.LookupPublicCode, E.LookupPublicCodeRequest(public_code=code), None
    )
    return page.render(
        "public/code.html",
        code=code,
        found=found,
        kind=found.WhichOneof("declaration"),
        url=_code_url(page, code),
    )


async def code_qr(page: Page) -> Response:
    code = page.request.path_params["code"].upper()
    if not _CODE.match(code):
        return Response(status_code=404)
    image = qrcode.make(_code_url(page, code), image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"cache-control": "max-age=86400"})


def _code_url(page: Page, code: str) -> str:
    return str(page.request.url_for("code_page", code=code))


ROUTES = [
    page_route("/", home, PUBLIC),
    page_route("/lang", language, PUBLIC),
    page_route("/results", results, PUBLIC),
    page_route("/codes", code_lookup, PUBLIC),
    page_route("/codes/{code}", code_page, PUBLIC),
    page_route("/codes/{code}/qr.svg", code_qr, PUBLIC),
]
