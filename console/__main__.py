"""`python -m console`: serve the web console until SIGTERM (uvicorn; graceful shutdown), its Prometheus
metrics on its metrics port (console.metrics), and its traces to the OTLP endpoint when one is set."""

from __future__ import annotations

import uvicorn

from console import metrics
from console.app import build_app
from console.manifest import CONSOLE
from console.settings import ConsoleSettings
from shared import tracing
from shared.logs import configure_logging
from shared.settings import get_settings


def main() -> None:
    platform = get_settings()
    configure_logging(platform.log_level)
    tracing.configure(platform.otlp_endpoint, CONSOLE.name)  # off without OTEL_EXPORTER_OTLP_ENDPOINT
    app = build_app(platform, ConsoleSettings())
    if platform.metrics_enabled:
        port = platform.metrics_port(CONSOLE.name, CONSOLE.default_port)
        try:
            metrics.serve(platform.host, port)
        except OSError as e:
            raise SystemExit(
                f"console: cannot serve metrics on {platform.host}:{port} ({e.strerror}); set "
                "CONSOLE_METRICS_PORT to another port or INTEGRITY_METRICS_ENABLED=false"
            ) from e
    uvicorn.run(
        app,
        host=platform.host,
        port=platform.port(CONSOLE.name, CONSOLE.default_port),
        log_level=platform.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=int(platform.grace_seconds),
    )


if __name__ == "__main__":
    main()
