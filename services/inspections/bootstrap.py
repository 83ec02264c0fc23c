"""Wiring of the inspections service: database, local copy consumer, outbox relay, overdue check, servicer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from integrity.inspections.v1 import inspections_pb2_grpc
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.entrypoints.consumer import CONSUMER_GROUP, handle_event
from services.inspections.entrypoints.grpc import InspectionServiceServicer
from services.inspections.entrypoints.overdue import OverdueChecker
from services.inspections.manifest import SERVICE
from services.inspections.settings import InspectionSettings
from shared.events import utcnow
from shared.grpc_server import ServiceApp
from shared.settings import Settings
from shared.wiring import event_consumer, outbox_relay, service_database, working_calendar


def build_app(
    settings: Settings, *, own: InspectionSettings | None = None, clock: Callable[[], datetime] = utcnow
) -> ServiceApp:
    """`own`: the service's own settings (from the environment unless given); `clock`: what time it is."""
    engine = service_database(settings, SERVICE)
    relay = outbox_relay(engine, settings, SERVICE)
    uow_factory = partial(InspectionsUnitOfWork, engine)
    consumer = event_consumer(engine, settings, SERVICE, CONSUMER_GROUP, handle_event, uow_factory)
    own = own or InspectionSettings()
    overdue = OverdueChecker(uow_factory, own.overdue_check_seconds, wake=relay.wake)
    servicer = InspectionServiceServicer(
        uow_factory,
        own.publication_working_days,
        wake=relay.wake,
        calendar=working_calendar(settings),
        clock=clock,
        reveal_after=timedelta(days=own.plan_reveal_days),
    )
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(inspections_pb2_grpc.add_InspectionServiceServicer_to_server, servicer)],
        workers=[relay, consumer, overdue],
        on_stop=[engine.dispose],
        settings=settings,
    )
