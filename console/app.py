"""The console's ASGI application: pages, static assets, sessions, security headers and error pages."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import web
from console.clients import ServiceError, Services
from console.metrics import RequestMetrics
from console.pages import enterprise, inspector, plans, public, regulator, signin, workflows
from console.settings import ConsoleSettings, Mode
from shared.auth import TokenVerifier
from shared.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

# Scripts and styles from this site only: no inline script, no eval, no third-party origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the CSP and friends to every response; pages (not static assets) are never cached. A
    Server-Timing header says how long the console took to answer (its calls to the services included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += _SECURITY_HEADERS
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={elapsed_ms:.1f}".encode()))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def session_secret(console: ConsoleSettings, platform: Settings) -> str:
    """The session signing secret: from its file, generated (0600) on first use."""
    path = console.secret_path(platform)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
    return path.read_text().strip()


def build_app(platform: Settings, console: ConsoleSettings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = Services(console, platform)
        try:
            yield
        finally:
            await app.state.services.close()

    routes: list[Route | Mount] = [
        Route("/healthz", lambda request: PlainTextResponse("ok"), name="healthz"),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    for module in (public, signin, regulator, plans, workflows, inspector, enterprise):
        routes += module.ROUTES
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestMetrics),
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=session_secret(console, platform),
                session_cookie="integrity_console",
                max_age=int(console.session_hours * 3600),
                same_site="lax",
                https_only=console.mode == Mode.PRODUCTION,
            ),
        ],
        exception_handlers={
            web.SignInRequired: _sign_in_required,
            web.Forbidden: _forbidden,
            ServiceError: _service_error,
            web.BadForm: _bad_form,
            404: _not_found,
        },
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.console = console
    app.state.verifier = TokenVerifier(platform)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    return app


async def _page(request: Request) -> web.Page:
    try:
        return await web.current_page(request)
    except web.SignInRequired:
        from shared.auth import Principal

        return web.Page(request, Principal.public(), None, request.cookies.get(web.LANG_COOKIE, "zh"))


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, web.SignInRequired)
    if request.headers.get("hx-request"):
        response = Response(status_code=401)
        response.headers["hx-redirect"] = web.sign_in_redirect(exc.next_path, exc.expired).headers["location"]
        return response
    return web.sign_in_redirect(exc.next_path, exc.expired)


async def _forbidden(request: Request, exc: Exception) -> Response:
    page = await _page(request)
    return page.render("error.html", 403, message=page.t("error.denied"), detail="")


async def _not_found(request: Request, exc: Exception) -> Response:
    page = await _page(request)
    return page.render("error.html", 404, message=page.t("error.no_page"), detail="")


async def _bad_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, web.BadForm)
    page = await _page(request)
    return page.render("error.html", 400, message=page.t(exc.key), detail=exc.field)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    import grpc

    if exc.code == grpc.StatusCode.UNAUTHENTICATED:
        request.session.pop("token", None)
        return await _sign_in_required(request, web.SignInRequired(request.url.path, expired=True))
    page = await _page(request)
    detail = "; ".join(f"{field}: {why}" for field, why in exc.fields) or exc.message
    return page.render(
        "error.html", web.error_status(exc), message=web.error_message(exc, page.lang), detail=detail
    )
