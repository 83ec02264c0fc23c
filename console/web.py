"""What every page stands on: who is signed in (the session), the guard that keeps each route to the roles
that may use it, CSRF tokens, rendering in the person's language, and errors a person can act on.

The session is a signed, HttpOnly, SameSite=Lax cookie holding the person's bearer token; the token is
verified on every request (an expired one sends the person to sign in, then back). The console never
holds a token of its own: the services see the person.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from console import i18n
from console.clients import ServiceError, Services
from shared.auth import Principal, Role, TokenVerifier
from shared.errors import IntegrityError

LANG_COOKIE = "lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PUBLIC = frozenset({Role.PUBLIC})  # a route anyone may open, signed in or not


class SignInRequired(Exception):
    """No session, or its token expired: sign in, then come back to `next_path`."""

    def __init__(self, next_path: str, expired: bool = False) -> None:
        self.next_path = next_path
        self.expired = expired


class Forbidden(Exception):
    """The signed-in person's role may not use this page."""


class BadForm(Exception):
    """A form value the console itself refuses before calling a service (message key, field)."""

    def __init__(self, key: str, field: str = "") -> None:
        self.key = key
        self.field = field


@dataclass
class Page:
    """One request as the pages see it: the person, their token and language, and the services."""

    request: Request
    principal: Principal
    token: str | None
    lang: str

    @property
    def services(self) -> Services:
        return self.request.app.state.services

    def t(self, key: str) -> str:
        return i18n.t(key, self.lang)

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        templates: Jinja2Templates = self.request.app.state.templates
        return templates.TemplateResponse(
            self.request, template, {**self.context(), **context}, status_code=status_code
        )

    def context(self) -> dict[str, Any]:
        lang = self.lang
        return {
            "lang": lang,
            "t": lambda key: i18n.t(key, lang),
            "enum": lambda name, value: i18n.enum_label(name, value, lang),
            "options": lambda name: i18n.enum_options(name, lang),
            "advice": lambda code: i18n.advice(code, lang),
            "when": i18n.china_time,
            "principal": self.principal,
            "signed_in": self.principal.role != Role.PUBLIC,
            "csrf_token": csrf_token(self.request),
            "path": self.request.url.path,
            "query": self.request.url.query,
            "local_mode": self.request.app.state.console.mode == "local",
            # An AIP-155 idempotency key per form shown: a double submit creates one record.
            "new_request_id": lambda: str(uuid.uuid4()),
        }


Endpoint = Callable[[Page], Awaitable[Response]]
# Every console route -> the roles that may open it (the access test walks this table).
ROUTE_ROLES: dict[tuple[str, str], frozenset[Role]] = {}


def page_route(
    path: str, endpoint: Endpoint, roles: Iterable[Role], methods: tuple[str, ...] = ("GET",)
) -> Route:
    """A route that only `roles` may open; POSTs must carry the session's CSRF token."""
    allowed = frozenset(roles)
    for method in methods:
        ROUTE_ROLES[(method, path)] = allowed

    async def guarded(request: Request) -> Response:
        page = await current_page(request)
        if PUBLIC.isdisjoint(allowed) and page.principal.role not in allowed:
            if page.principal.role == Role.PUBLIC:
                raise SignInRequired(_here(request))
            raise Forbidden()
        if request.method == "POST":
            await require_csrf(request)
        return await endpoint(page)

    return Route(path, guarded, methods=list(methods), name=endpoint.__name__)


async def current_page(request: Request) -> Page:
    lang = request.cookies.get(LANG_COOKIE, i18n.DEFAULT_LANGUAGE)
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    token = request.session.get("token")
    principal = Principal.public()
    if token:
        verifier: TokenVerifier = request.app.state.verifier
        try:
            principal = verifier.verify(token)
        except IntegrityError:
            request.session.pop("token", None)
            raise SignInRequired(_here(request), expired=True) from None
    return Page(request, principal, token if token else None, lang)


def sign_in(request: Request, token: str) -> None:
    """Starts a fresh session for `token` (a new CSRF token too: no fixation)."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session["token"] = token
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    if lang:
        request.session["lang"] = lang


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(token)


async def require_csrf(request: Request) -> None:
    expected = request.session.get(CSRF_FIELD, "")
    sent = request.headers.get(CSRF_HEADER) or str((await request.form()).get(CSRF_FIELD, ""))
    if not expected or not hmac.compare_digest(str(expected), sent):
        raise Forbidden()


def embedded_json(value: Any) -> str:
    """JSON to put inside <script type="application/json">: no "<" survives, so a name holding
    "</script>" cannot end the element (the page reads it back with JSON.parse)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def sign_in_redirect(next_path: str, expired: bool = False) -> RedirectResponse:
    suffix = "&expired=1" if expired else ""
    return redirect(f"/sign-in?next={quote(next_path, safe='/')}{suffix}")


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a path of this site (no scheme, host or //): nobody can bounce a person elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query and request.method == "GET" else ""
    return f"{request.url.path}{query}" if request.method == "GET" else "/"


# What a person is told for each refusal of a service, in their language.
ERROR_KEYS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "error.invalid",
    grpc.StatusCode.NOT_FOUND: "error.not_found",
    grpc.StatusCode.ALREADY_EXISTS: "error.exists",
    grpc.StatusCode.PERMISSION_DENIED: "error.denied",
    grpc.StatusCode.FAILED_PRECONDITION: "error.precondition",
    grpc.StatusCode.ABORTED: "error.conflict",
    grpc.StatusCode.UNAVAILABLE: "error.unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "error.unavailable",
    grpc.StatusCode.UNIMPLEMENTED: "common.not_available",
}
STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}


def error_message(error: ServiceError, lang: str) -> str:
    return i18n.t(ERROR_KEYS.get(error.code, "error.unexpected"), lang)


def error_status(error: ServiceError) -> int:
    return STATUS_OF.get(error.code, 503)
