"""Wiring of the inspections service: database, local copy consumer, outbox relay, overdue check, servicer."""

from __future__ import annotations

from functools import partial

from integrity.inspections.v1 import inspections_pb2_grpc
from services.inspections.overdue import OverdueChecker
from services.inspections.projection import CONSUMER_GROUP, handle_event
from services.inspections.servicer import InspectionServiceServicer
from services.inspections.tables import INSPECTION_TABLES
from services.inspections.unit_of_work import InspectionsUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.db import create_tables, make_engine
from shared.grpc_server import ServiceApp
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.relay import OutboxRelay
from shared.settings import Settings

# What the local copy is built from: grades, the enterprise population, substantiated complaints.
CONSUMED_TOPICS = [topics.SCORING, topics.ENTERPRISES, topics.COMPLAINTS]


# Every table of the inspections database: created when the service (or a history import) starts.
DATABASE_TABLES = [*INSPECTION_TABLES, OutboxRecord, ProcessedEvent]


def build_app(settings: Settings) -> ServiceApp:
    engine = make_engine(settings.database_url("inspections"))
    create_tables(engine, DATABASE_TABLES)
    relay = OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        poll_seconds=settings.relay_poll_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        client_id="integrity-inspections-relay",
    )
    consumer = EventConsumer(
        engine,
        settings.kafka_bootstrap_servers,
        CONSUMER_GROUP,
        CONSUMED_TOPICS,
        handle_event,
        client_id="integrity-inspections-consumer",
    )
    uow_factory = partial(InspectionsUnitOfWork, engine)
    overdue = OverdueChecker(uow_factory, settings.inspection_overdue_check_seconds, wake=relay.wake)
    servicer = InspectionServiceServicer(
        uow_factory, settings.inspection_publication_working_days, wake=relay.wake
    )
    return ServiceApp(
        name="inspections",
        servicers=[(inspections_pb2_grpc.add_InspectionServiceServicer_to_server, servicer)],
        workers=[relay, consumer, overdue],
        on_stop=[engine.dispose],
        settings=settings,
    )
