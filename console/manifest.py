"""The console's declaration, collected by the operations floor (`operations.catalogue`) to start it."""

from __future__ import annotations

from shared.manifest import WebManifest

CONSOLE = WebManifest(
    name="console",
    default_port=8080,
    package="console",
    health_path="/healthz",
    upstreams={"enterprises": 50051, "complaints": 50052, "inspections": 50053, "scoring": 50054},
)
