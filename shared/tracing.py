"""Traces (OpenTelemetry): one trace from an RPC through its outbox row, the relay's publication and the
consumer's processing to the events that processing stages (a GradeChanged), and on through their relay.

Off unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. http://otel-collector:4317): then
`configure` installs an SDK tracer provider exporting over OTLP/gRPC and instruments gRPC clients; the
service's SQL gets spans from `shared.sql_tracing.instrument_engine` (apart, so the console, which may not
import SQLAlchemy, can trace). Without it every span here is a no-op, but the W3C
trace context a caller sends still travels on, so a trace begun elsewhere is not cut.

The context crosses the broker as W3C `traceparent`: stored in the outbox row when the event is staged
(`current_traceparent`), sent by the relay as a record header of its publish span (`PublishSpans`), and
picked up by the consumer around the handler (`processing`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("integrity.tracing")

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None  # None: OpenTelemetry's global provider


def use_provider(provider: TracerProvider | None) -> None:
    """Routes this module's spans to `provider` (a test's in-memory exporter); None restores the global."""
    global _provider
    _provider = provider


def tracer() -> trace.Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer("integrity")


def recording() -> bool:
    """Whether spans go anywhere: a provider was configured (`configure`) or routed here (`use_provider`).
    While not, a server skips its span unless the caller's trace context is to be carried on."""
    return _provider is not None or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def configure(endpoint: str, service: str) -> bool:
    """Exports traces to the OTLP/gRPC collector at `endpoint` as `integrity-<service>`; False when no
    endpoint is set (tracing stays off)."""
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({"service.name": f"integrity-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    GrpcInstrumentorClient().instrument()
    log.info("exporting traces to %s", endpoint)
    return True


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with an outbox row; None outside any trace."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def _context_of(traceparent: str | None) -> otel_context.Context | None:
    return _PROPAGATOR.extract({TRACEPARENT: traceparent}) if traceparent else None


# --- the gRPC server ----------------------------------------------------------------------------------------


def start_server_span(method: str, metadata: Iterable[tuple[str, Any]] | None) -> tuple[Span, object]:
    """A SERVER span for the call, made current; continues the caller's trace when its metadata carries
    a traceparent. End it with `end_server_span`."""
    carrier = {key: value for key, value in metadata or () if isinstance(value, str)}
    service, _, name = method.lstrip("/").rpartition("/")
    span = tracer().start_span(
        method.lstrip("/"),
        context=_PROPAGATOR.extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
    )
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_server_span(span: Span, token: object, code: str) -> None:
    span.set_attribute("rpc.grpc.status_code", code)
    if code not in ("OK", "CANCELLED"):
        span.set_status(Status(StatusCode.ERROR, code))
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]


# --- the relay and the consumer ----------------------------------------------------------------------------


class PublishSpans:
    """The relay's PRODUCER spans of one pass, one per row that was staged inside a trace."""

    def __init__(self) -> None:
        self._spans: dict[int, Span] = {}

    def start(
        self, row_id: int, topic: str, event_id: str, traceparent: str | None
    ) -> list[tuple[str, bytes]]:
        """Starts the row's publish span; returns the record headers that carry it (none outside a trace)."""
        parent = _context_of(traceparent)
        if parent is None:
            return []
        span = tracer().start_span(
            f"publish {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes=_messaging("publish", topic, event_id),
        )
        self._spans[row_id] = span
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        return [(key, value.encode()) for key, value in carrier.items()]

    def end(self, acked: Sequence[int], parked: Mapping[int, str], error: str | None) -> None:
        """Ends every span: acknowledged, parked (with why), or left for the next pass (the pass's error)."""
        for row_id, span in self._spans.items():
            if row_id in parked:
                span.set_status(Status(StatusCode.ERROR, parked[row_id][:200]))
            elif row_id not in acked:
                span.set_status(Status(StatusCode.ERROR, (error or "not acknowledged")[:200]))
            span.end()
        self._spans.clear()


_NOTHING = contextlib.nullcontext()


def processing(
    topic: str, headers: Iterable[tuple[str, bytes]] | None, event_id: str
) -> contextlib.AbstractContextManager[None]:
    """A CONSUMER span around handling one record, child of its publish span; current, so the events the
    handler stages carry the trace on. Nothing at all when tracing is off and the record carries no trace
    context (the usual case: a no-op span would change nothing, and cost more than grading the event)."""
    carrier = {key: value.decode(errors="replace") for key, value in headers or () if key == TRACEPARENT}
    if not carrier and _tracing_off():
        return _NOTHING
    return _processing_span(topic, carrier, event_id)


def _tracing_off() -> bool:
    """No provider of ours and no SDK installed globally: every span would be a no-op."""
    return _provider is None and isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


@contextlib.contextmanager
def _processing_span(topic: str, carrier: dict[str, str], event_id: str) -> Iterator[None]:
    with tracer().start_as_current_span(
        f"process {topic}",
        context=_PROPAGATOR.extract(carrier) if carrier else None,
        kind=SpanKind.CONSUMER,
        attributes=_messaging("process", topic, event_id),
    ):
        yield


def _messaging(operation: str, topic: str, event_id: str) -> dict[str, str]:
    """OpenTelemetry's messaging attributes of a span about one record."""
    return {
        "messaging.system": "kafka",
        "messaging.operation": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": event_id,
    }


# --- the console: HTTP requests and its calls to the services ---------------------------------------------


def start_http_span(method: str, traceparent: str | None) -> tuple[Span, object]:
    """A SERVER span for an HTTP request, made current; continues the browser's or proxy's trace when the
    request carries a traceparent. End it with `end_http_span` once the route is known."""
    span = tracer().start_span(
        method,
        context=_context_of(traceparent),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method},
    )
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_http_span(span: Span, token: object, method: str, route: str, status: int) -> None:
    """Names the span by its route template (`GET /enterprises/{uscc}`, never the path typed)."""
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, str(status)))
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]


@contextlib.contextmanager
def client_call(method: str) -> Iterator[tuple[tuple[str, str], ...]]:
    """A CLIENT span around a gRPC call to `method` (`/package.Service/Method`); yields the metadata that
    carries its context to the service, whose server span becomes its child."""
    service, _, name = method.lstrip("/").rpartition("/")
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
    with tracer().start_as_current_span(method.lstrip("/"), kind=SpanKind.CLIENT, attributes=attributes):
        traceparent = current_traceparent()
        yield ((TRACEPARENT, traceparent),) if traceparent else ()
