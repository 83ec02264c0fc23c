"""Wiring of the enterprises service: database, outbox relay, servicer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from integrity.enterprises.v1 import enterprises_pb2_grpc
from services.enterprises.adapters.unit_of_work import EnterprisesUnitOfWork
from services.enterprises.domain.values import china_today
from services.enterprises.entrypoints.grpc import EnterpriseServiceServicer
from services.enterprises.manifest import SERVICE
from shared.grpc_server import ServiceApp
from shared.settings import Settings
from shared.wiring import outbox_relay, service_database


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
