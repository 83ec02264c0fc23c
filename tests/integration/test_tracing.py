"""One trace from an RPC to the grade it causes: CreateEnterprise (server span), the enterprises relay's
publication (the trace context stored in the outbox row, carried in the record's headers), scoring's
processing of the record, and the publication of the GradeChanged event that processing staged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlmodel import Session, select
from starlette.testclient import TestClient

from console.app import build_app as build_console
from console.settings import ConsoleSettings
from operations.broker import LocalBroker
from services.enterprises.bootstrap import build_app as build_enterprises
from services.enterprises.manifest import TOPIC as ENTERPRISES_TOPIC
from services.inspections.bootstrap import build_app as build_inspections
from services.scoring.bootstrap import build_app as build_scoring
from services.scoring.manifest import TOPIC as SCORING_TOPIC
from shared import tracing
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.grpc_server import RunningService, start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import create_enterprise, valid_uscc, wait_until

pytestmark = pytest.mark.integration
REGION = "610928"  # a county no other test uses


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use_provider(provider)
    try:
        yield memory
    finally:
        tracing.use_provider(None)
        provider.shutdown()


def test_one_trace_runs_from_the_rpc_through_the_broker_to_grade_changed(
    tmp_path: Path, broker: LocalBroker, exporter: InMemorySpanExporter
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=broker.bootstrap,
        enterprises_database_url=f"sqlite:///{tmp_path / 'enterprises.db'}",
        scoring_database_url=f"sqlite:///{tmp_path / 'scoring.db'}",
        relay_poll_seconds=0.1,
    )
    uscc = valid_uscc(92800, region=REGION)
    group = f"tracing-{uuid.uuid4().hex[:8]}"
    running: list[RunningService] = []
    try:
        running.append(start(build_enterprises(settings), 0))
        running.append(start(build_scoring(settings, group_id=group, source_topics=[ENTERPRISES_TOPIC]), 0))
        token = issue_token(settings, Role.SYSTEM, subject="registry")
        with grpc.insecure_channel(running[0].address) as channel:
            create_enterprise(channel, uscc, REGION, token)

        def grade_changed_published() -> list[ReadableSpan] | None:
            spans = list(exporter.get_finished_spans())
            server = [s for s in spans if s.name.endswith("EnterpriseService/CreateEnterprise")]
            if not server:
                return None
            trace_id = server[0].context.trace_id
            mine = [s for s in spans if s.context.trace_id == trace_id]
            return mine if any(s.name == f"publish {SCORING_TOPIC}" for s in mine) else None

        spans = wait_until(grade_changed_published, timeout=60, interval=0.2, message="no GradeChanged span")
    finally:
        for service in running:
            service.stop(1)

    by_name = {span.name: span for span in spans}
    rpc = by_name["integrity.enterprises.v1.EnterpriseService/CreateEnterprise"]
    published = by_name[f"publish {ENTERPRISES_TOPIC}"]
    processed = by_name[f"process {ENTERPRISES_TOPIC}"]
    announced = by_name[f"publish {SCORING_TOPIC}"]
    assert rpc.kind == SpanKind.SERVER and rpc.parent is None
    assert rpc.attributes is not None and rpc.attributes["rpc.grpc.status_code"] == "OK"
    # Each step is the child of the one before: the row stored the RPC's context, the record carried the
    # publish span's, and the GradeChanged row stored the processing span's.
    assert published.kind == SpanKind.PRODUCER and published.parent is not None
    assert published.parent.span_id == rpc.context.span_id
    assert processed.kind == SpanKind.CONSUMER and processed.parent is not None
    assert processed.parent.span_id == published.context.span_id
    assert announced.kind == SpanKind.PRODUCER and announced.parent is not None
    assert announced.parent.span_id == processed.context.span_id

    engine = make_engine(settings.database_url("scoring"))
    try:
        with Session(engine) as session:
            assert announced.attributes is not None
            row = session.exec(
                select(OutboxRecord).where(
                    OutboxRecord.event_id == announced.attributes["messaging.message.id"]
                )
            ).one()
    finally:
        engine.dispose()
    assert row.event_type.endswith("GradeChanged") and row.key == uscc
    assert row.trace_context is not None and f"{processed.context.span_id:016x}" in row.trace_context


def test_a_console_page_is_the_parent_of_its_calls_to_the_services(
    tmp_path: Path, broker: LocalBroker, exporter: InMemorySpanExporter
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=broker.bootstrap,
        inspections_database_url=f"sqlite:///{tmp_path / 'inspections.db'}",
    )
    running = start(build_inspections(settings), 0)
    try:
        console = ConsoleSettings(inspections_address=running.address)
        caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # a proxy's trace
        with TestClient(build_console(settings, console)) as client:
            page = client.get("/results", headers={"traceparent": caller})
        assert page.status_code == 200
    finally:
        running.stop(1)

    spans = exporter.get_finished_spans()
    (request,) = [s for s in spans if s.name == "GET /results"]
    name = "integrity.inspections.v1.InspectionService/ListPublishedResults"
    (call,) = [s for s in spans if s.kind == SpanKind.CLIENT and s.name == name]
    (served,) = [s for s in spans if s.kind == SpanKind.SERVER and s.name == name]
    # The proxy's trace continues through the page, the console's call and the service's handling of it.
    assert request.kind == SpanKind.SERVER and request.parent is not None
    assert f"{request.context.trace_id:032x}" == caller.split("-")[1]
    assert request.attributes is not None and request.attributes["http.route"] == "/results"
    assert call.parent is not None and call.parent.span_id == request.context.span_id
    assert served.parent is not None and served.parent.span_id == call.context.span_id
    assert served.context.trace_id == request.context.trace_id
