"""`python -m console`: serve the web console until SIGTERM (uvicorn; graceful shutdown)."""

from __future__ import annotations

import uvicorn

from console.app import build_app
from console.manifest import CONSOLE
from console.settings import ConsoleSettings
from shared.logs import configure_logging
from shared.settings import get_settings


def main() -> None:
    platform = get_settings()
    configure_logging(platform.log_level)
    app = build_app(platform, ConsoleSettings())
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
