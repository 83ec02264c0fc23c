"""Wiring of the enterprises service: database, outbox relay, servicer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from integrity.enterprises.v1 import enterprises_pb2_grpc
from services.enterprises.domain import china_today
from services.enterprises.manifest import SERVICE
from services.enterprises.servicer import EnterpriseServiceServicer
from services.enterprises.tables import (
    CapabilityDeclarationRow,
    CommitmentRow,
    EnterpriseRow,
    InstrumentRow,
    VerificationRow,
)
from services.enterprises.unit_of_work import EnterprisesUnitOfWork
from shared.grpc_server import ServiceApp
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.settings import Settings
from shared.wiring import outbox_relay, service_database

# Every table of the enterprises database: created when the service (or a history import) starts.
DATABASE_TABLES = [
    EnterpriseRow,
    InstrumentRow,
    VerificationRow,
    CommitmentRow,
    CapabilityDeclarationRow,
    OutboxRecord,
    ProcessedEvent,
]


def build_app(settings: Settings, *, today: Callable[[], date] = china_today) -> ServiceApp:
    """`today` (China time) is what dates and derived statuses are checked against; tests inject a clock."""
    engine = service_database(settings, SERVICE)
    relay = outbox_relay(engine, settings, SERVICE)
    servicer = EnterpriseServiceServicer(partial(EnterprisesUnitOfWork, engine), wake=relay.wake, today=today)
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(enterprises_pb2_grpc.add_EnterpriseServiceServicer_to_server, servicer)],
        workers=[relay],
        on_stop=[engine.dispose],
        settings=settings,
    )
