"""With an OTLP endpoint set, a process exports traces and traces its gRPC clients and SQL too; without
one, nothing is set up. Run in a fresh process: OpenTelemetry's global provider can be set only once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from shared import sql_tracing, tracing
from shared.db import make_engine
from shared.grpc_server import ServiceApp, start
from shared.manifest import ServiceManifest
from shared.settings import Settings

endpoint = sys.argv[1]
configured = tracing.configure(endpoint, "probe")
if not configured:
    print(json.dumps({"configured": False, "provider": type(trace.get_tracer_provider()).__name__}))
    sys.exit(0)
memory = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))

engine = make_engine("sqlite:///" + sys.argv[2] + "/probe.db")
sql_tracing.instrument_engine(engine)
with engine.connect() as connection:
    connection.execute(text("SELECT 1"))

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
manifest = ServiceManifest(name="probe", default_port=0, api="x.Probe", access={}, bootstrap="x:y",
                           tables="x:y", unit_of_work="x:y")
running = start(ServiceApp(manifest=manifest, servicers=[], settings=Settings(var_dir=sys.argv[2])), 0)
with grpc.insecure_channel(running.address) as channel:
    health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
running.stop(0)
spans = memory.get_finished_spans()
print(json.dumps({
    "configured": True,
    "provider": type(trace.get_tracer_provider()).__name__,
    "kinds": sorted({f"{s.kind.name}:{s.name}" for s in spans}),
    "service": spans[0].resource.attributes["service.name"] if spans else None,
}))
"""


def probe(endpoint: str, tmp_path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, endpoint, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_endpoint_turns_on_export_and_the_grpc_client_and_sql_spans(tmp_path: Path) -> None:
    found = probe("http://127.0.0.1:9", tmp_path)  # nothing listens: export fails quietly, spans still made
    assert found["configured"] and found["provider"] == "TracerProvider"
    assert found["service"] == "integrity-probe"
    assert "CLIENT:/grpc.health.v1.Health/Check" in found["kinds"]
    assert any(kind.startswith("CLIENT:SELECT") for kind in found["kinds"]), found["kinds"]


def test_without_an_endpoint_nothing_is_set_up(tmp_path: Path) -> None:
    found = probe("", tmp_path)
    assert found == {"configured": False, "provider": "ProxyTracerProvider"}
