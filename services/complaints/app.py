"""Wiring of the complaints service: database, outbox relay, servicer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.domain import Deadlines
from services.complaints.service import Rules
from services.complaints.servicer import ComplaintServiceServicer
from services.complaints.tables import ComplainantRow, ComplaintRow
from services.complaints.unit_of_work import ComplaintsUnitOfWork
from shared.db import create_tables, make_engine
from shared.grpc_server import ServiceApp
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.relay import OutboxRelay
from shared.settings import Settings


def rules_from(settings: Settings) -> Rules:
    return Rules(
        deadlines=Deadlines(settings.complaint_accept_days, settings.complaint_resolve_days),
        duplicate_window=timedelta(days=settings.complaint_duplicate_window_days),
    )


# Every table of the complaints database: created when the service (or a history import) starts.
DATABASE_TABLES = [ComplaintRow, ComplainantRow, OutboxRecord, ProcessedEvent]


def build_app(settings: Settings) -> ServiceApp:
    engine = make_engine(settings.database_url("complaints"))
    create_tables(engine, DATABASE_TABLES)
    relay = OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        poll_seconds=settings.relay_poll_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        client_id="integrity-complaints-relay",
    )
    servicer = ComplaintServiceServicer(
        partial(ComplaintsUnitOfWork, engine), rules_from(settings), wake=relay.wake
    )
    return ServiceApp(
        name="complaints",
        servicers=[(complaints_pb2_grpc.add_ComplaintServiceServicer_to_server, servicer)],
        workers=[relay],
        on_stop=[engine.dispose],
        settings=settings,
    )
