"""SQL spans (OpenTelemetry) for a service's database: apart from shared.tracing, which the console uses
and which therefore may not import SQLAlchemy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import Engine, event

from shared.tracing import tracer


def instrument_engine(engine: Engine) -> None:
    """A CLIENT span per SQL statement of `engine`, named by its operation and database. The statement is
    recorded with its placeholders, never the values (complainants' identities stay out of traces)."""
    database = engine.url.database or ""

    @event.listens_for(engine, "before_cursor_execute")
    def _start(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        operation = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
        context._integrity_span = tracer().start_span(
            f"{operation} {Path(database).name}".strip(),
            kind=SpanKind.CLIENT,
            attributes={"db.system": engine.dialect.name, "db.statement": statement[:2000]},
        )

    @event.listens_for(engine, "after_cursor_execute")
    def _end(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        if (span := getattr(context, "_integrity_span", None)) is not None:
            span.end()

    @event.listens_for(engine, "handle_error")
    def _failed(failure: Any) -> None:
        span = getattr(failure.execution_context, "_integrity_span", None)
        if span is not None:
            span.record_exception(failure.original_exception)
            span.set_status(Status(StatusCode.ERROR, type(failure.original_exception).__name__))
            span.end()
