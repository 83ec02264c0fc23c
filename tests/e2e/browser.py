"""Headless Chromium for the console's browser tests and screenshots: Debian's `chromium` package driven
by the playwright Python package (launched with `executable_path`; never `playwright install`), with a
fresh user-data-dir per launch and no background networking (this machine has no network).

`python -m tests.e2e.browser URL DIR` signs in as each role against a running console and writes the
screenshots of the main pages that README shows (docs/console/).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run installs it)"
    return None


@contextmanager
def browser_context(playwright: Playwright, **options: object) -> Iterator[BrowserContext]:
    """A new browser context in a freshly launched Chromium with its own empty profile."""
    profile = tempfile.mkdtemp(prefix="integrity-chromium-")
    try:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            **options,  # type: ignore[arg-type]
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page: Page, base: str, role: str, *, region: str = "", uscc: str = "", subject: str = "") -> None:
    """The local sign-in form, as a person fills it."""
    page.goto(f"{base}/sign-in")
    page.check(f"input[name=role][value={role}]")
    page.fill("input[name=region]", region)
    page.fill("input[name=uscc]", uscc)
    page.fill("input[name=subject]", subject)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def screenshots(base: str, out: Path, region: str, uscc: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shots = [
        ("regulator", {"region": region}, [("dashboard", "/regulator"), ("risk-list", "/regulator/risk")]),
        ("enterprise", {"uscc": uscc}, [("enterprise-grade", f"/enterprise/{uscc}")]),
    ]
    with (
        sync_playwright() as playwright,
        browser_context(playwright, viewport={"width": 1280, "height": 860}) as context,
    ):
        page = context.new_page()
        for role, claims, pages in shots:
            sign_in(page, base, role, **claims)
            for name, path in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(800)  # the charts' entry animation
                page.screenshot(path=str(out / f"{name}.png"), full_page=name == "dashboard")
            page.goto(f"{base}/regulator/enterprises/{uscc}" if role == "regulator" else f"{base}/results")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / ("enterprise-page.png" if role == "regulator" else "results.png")))
            page.context.clear_cookies()
    with (
        sync_playwright() as playwright,
        browser_context(playwright, viewport={"width": 390, "height": 760}) as phone,
    ):
        page = phone.new_page()
        sign_in(page, base, "enterprise", uscc=uscc)
        page.goto(f"{base}/enterprise/{uscc}/commitment")
        codes = page.locator("#commitments a.code")
        if codes.count():
            page.goto(base + str(codes.first.get_attribute("href")))
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "public-code-phone.png"), full_page=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="the running console, e.g. http://127.0.0.1:8080")
    parser.add_argument("out", type=Path, help="where the PNG files go, e.g. docs/console")
    parser.add_argument("--region", default="610000", help="the regulator's region")
    parser.add_argument("--uscc", required=True, help="an enterprise of the demo province")
    args = parser.parse_args()
    if problem := chromium_missing():
        print(problem, file=sys.stderr)
        return 1
    screenshots(args.url.rstrip("/"), args.out, args.region, args.uscc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
