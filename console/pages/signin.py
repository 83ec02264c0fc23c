"""Signing in and out. In the local stack a person picks a role (regulator with a region, inspector,
enterprise with a USCC) and the console signs the token with the stack's key: clearly local-only, and
refused in production, where the console accepts only the province's identity provider's tokens (the same
signed bearer tokens the services verify)."""

from __future__ import annotations

from starlette.responses import Response

from console.i18n import child_divisions
from console.settings import Mode
from console.web import PUBLIC, Forbidden, Page, page_route, redirect, safe_next, sign_in
from shared.auth import Role, issue_token
from shared.errors import IntegrityError

LOCAL_TOKEN_SECONDS = 8 * 3600
ROLES = (Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE)


def _production(page: Page) -> bool:
    return page.request.app.state.console.mode == Mode.PRODUCTION


async def sign_in_page(page: Page) -> Response:
    params = page.request.query_params
    return page.render(
        "signin.html",
        next=safe_next(params.get("next")),
        expired=bool(params.get("expired")),
        production=_production(page),
        identity_provider=page.request.app.state.console.identity_provider_url,
        cities=child_divisions(),
        problem="",
        form={},
    )


async def sign_in_local(page: Page) -> Response:
    """Local stack only: a token for the chosen role, signed with the stack's own key."""
    if _production(page):
        raise Forbidden()
    form = await page.request.form()
    role = str(form.get("role", ""))
    values = {k: str(form.get(k, "")).strip() for k in ("region", "uscc", "subject")}
    next_path = safe_next(str(form.get("next", "")))
    try:
        if role not in ROLES:
            raise ValueError(page.t("signin.pick_role"))
        token = issue_token(
            page.request.app.state.platform,
            role,
            region=values["region"] or None if role in (Role.REGULATOR, Role.INSPECTOR) else None,
            uscc=values["uscc"].upper() or None if role == Role.ENTERPRISE else None,
            subject=values["subject"] or None if role == Role.INSPECTOR else None,
            ttl_seconds=LOCAL_TOKEN_SECONDS,
        )
    except ValueError as exc:
        return page.render(
            "signin.html",
            400,
            next=next_path,
            expired=False,
            production=False,
            identity_provider="",
            cities=child_divisions(),
            problem=str(exc),
            form={"role": role, **values},
        )
    sign_in(page.request, token)
    return redirect(next_path)


async def sign_in_with_token(page: Page) -> Response:
    """A token from the identity provider (pasted, or posted back by it): verified before it is kept."""
    form = await page.request.form()
    token = str(form.get("token", "")).strip()
    try:
        page.request.app.state.verifier.verify(token)
    except IntegrityError as exc:
        return page.render(
            "signin.html",
            401,
            next=safe_next(str(form.get("next", ""))),
            expired=False,
            production=_production(page),
            identity_provider=page.request.app.state.console.identity_provider_url,
            cities=child_divisions(),
            problem=f"{page.t('signin.bad_token')} ({exc.message})",
            form={},
        )
    sign_in(page.request, token)
    return redirect(safe_next(str(form.get("next", ""))))


async def sign_out(page: Page) -> Response:
    page.request.session.clear()
    return redirect("/")


ROUTES = [
    page_route("/sign-in", sign_in_page, PUBLIC),
    page_route("/sign-in", sign_in_local, PUBLIC, methods=("POST",)),
    page_route("/sign-in/token", sign_in_with_token, PUBLIC, methods=("POST",)),
    page_route("/sign-out", sign_out, PUBLIC, methods=("POST",)),
]
