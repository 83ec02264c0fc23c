"""The console's Prometheus metrics: every request counted by its route template (never the path a
person typed), method and status, on a metrics port of its own."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from console import metrics
from console.app import build_app
from console.settings import ConsoleSettings
from shared.settings import Settings
from tests.helpers import free_port


def _count(route: str, code: str) -> float:
    value = REGISTRY.get_sample_value(
        "integrity_console_requests_total", {"route": route, "method": "GET", "code": code}
    )
    return value or 0.0


def test_requests_are_counted_by_route_template_and_status_and_served_on_the_metrics_port(
    tmp_path: Path,
) -> None:
    ports = {f"{name}_port": free_port() for name in ("enterprises", "complaints", "inspections", "scoring")}
    app = build_app(Settings(var_dir=tmp_path, **ports), ConsoleSettings())
    before = {key: _count(*key) for key in [("/healthz", "200"), ("unmatched", "404")]}
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/no/such/page/91610112MA6TGXKQ3B").status_code == 404
    assert _count("/healthz", "200") == before[("/healthz", "200")] + 2
    assert _count("unmatched", "404") == before[("unmatched", "404")] + 1

    server = metrics.serve("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'integrity_console_requests_total{code="200",method="GET",route="/healthz"}' in text
    assert "91610112MA6TGXKQ3B" not in text
