"""Prometheus metrics of the console on a port of their own (`CONSOLE_METRICS_PORT`, else its port + 1000,
as the services; off with INTEGRITY_METRICS_ENABLED=false): requests by route, method and status, and
their latency. The route is the page's path template (`/enterprises/{uscc}`), never the path itself.
Each request is also a trace's server span (shared.tracing; a no-op unless an OTLP endpoint is set), the
parent of the console's calls to the services."""

from __future__ import annotations

import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Histogram, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing

REQUESTS = Counter(
    "integrity_console_requests_total",
    "HTTP requests the console answered, by route, method and status code",
    ["route", "method", "code"],
)
REQUEST_SECONDS = Histogram(
    "integrity_console_request_seconds",
    "Time from a request to the end of its response, by route and method",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


class RequestMetrics:
    """ASGI middleware counting every HTTP request once its response is sent (500 when none is), inside a
    server span named by its route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        traceparent = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"traceparent"), None
        )
        span, token = tracing.start_http_span(scope["method"], traceparent)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            REQUEST_SECONDS.labels(route, scope["method"]).observe(time.perf_counter() - started)
            tracing.end_http_span(span, token, scope["method"], route, status)


def serve(host: str, port: int) -> WSGIServer:
    """Serves `GET /metrics` on `host:port` (0: a free port, see `.server_port`) in a daemon thread until
    the process ends or `.shutdown()`."""
    server, _thread = start_http_server(port, addr=host)
    return server
