"""Wiring of the enterprises service: database, outbox relay, servicer."""

from __future__ import annotations

from functools import partial

from integrity.enterprises.v1 import enterprises_pb2_grpc
from services.enterprises.servicer import EnterpriseServiceServicer
from services.enterprises.tables import EnterpriseRow
from services.enterprises.unit_of_work import EnterprisesUnitOfWork
from shared.db import create_tables, make_engine
from shared.grpc_server import ServiceApp
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.relay import OutboxRelay
from shared.settings import Settings


def build_app(settings: Settings) -> ServiceApp:
    engine = make_engine(settings.database_url("enterprises"))
    create_tables(engine, [EnterpriseRow, OutboxRecord, ProcessedEvent])
    relay = OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        poll_seconds=settings.relay_poll_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        client_id="integrity-enterprises-relay",
    )
    servicer = EnterpriseServiceServicer(partial(EnterprisesUnitOfWork, engine), wake=relay.wake)
    return ServiceApp(
        name="enterprises",
        servicers=[(enterprises_pb2_grpc.add_EnterpriseServiceServicer_to_server, servicer)],
        workers=[relay],
        on_stop=[engine.dispose],
        settings=settings,
    )
