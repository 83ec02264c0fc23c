"""Wiring of the complaints service: database, outbox relay, servicer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.domain.deadlines import Deadlines, Rules
from services.complaints.entrypoints.grpc import ComplaintServiceServicer
from services.complaints.manifest import SERVICE
from services.complaints.settings import ComplaintSettings
from shared.grpc_server import ServiceApp
from shared.settings import Settings
from shared.wiring import outbox_relay, service_database


def rules_from(settings: ComplaintSettings) -> Rules:
    return Rules(
        deadlines=Deadlines(settings.accept_days, settings.resolve_days),
        duplicate_window=timedelta(days=settings.duplicate_window_days),
    )


def build_app(settings: Settings, *, own: ComplaintSettings | None = None) -> ServiceApp:
    """`own`: the service's own settings (from the environment unless given)."""
    engine = service_database(settings, SERVICE)
    relay = outbox_relay(engine, settings, SERVICE)
    servicer = ComplaintServiceServicer(
        partial(ComplaintsUnitOfWork, engine), rules_from(own or ComplaintSettings()), wake=relay.wake
    )
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(complaints_pb2_grpc.add_ComplaintServiceServicer_to_server, servicer)],
        workers=[relay],
        on_stop=[engine.dispose],
        settings=settings,
    )
