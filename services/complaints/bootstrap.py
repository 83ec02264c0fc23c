"""Wiring of the complaints service: database, outbox relay, the consumer of the registry's events,
servicer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.domain.deadlines import Deadlines, Rules
from services.complaints.entrypoints.consumer import CONSUMER_GROUP, handle_event
from services.complaints.entrypoints.grpc import ComplaintServiceServicer
from services.complaints.manifest import SERVICE
from services.complaints.settings import ComplaintSettings
from shared.events import utcnow
from shared.grpc_server import ServiceApp
from shared.settings import Settings
from shared.wiring import event_consumer, outbox_relay, service_database, working_calendar
from shared.workdays import PRC, WorkingCalendar


def rules_from(settings: ComplaintSettings, calendar: WorkingCalendar = PRC) -> Rules:
    return Rules(
        deadlines=Deadlines(settings.accept_working_days, settings.resolve_working_days, calendar),
        duplicate_window=timedelta(days=settings.duplicate_window_days),
    )


def build_app(
    settings: Settings, *, own: ComplaintSettings | None = None, clock: Callable[[], datetime] = utcnow
) -> ServiceApp:
    """`own`: the service's own settings (from the environment unless given); `clock`: what time it is."""
    engine = service_database(settings, SERVICE)
    relay = outbox_relay(engine, settings, SERVICE)
    uow_factory = partial(ComplaintsUnitOfWork, engine)
    # Its copy of the registry: complaints are matched as enterprises register.
    consumer = event_consumer(engine, settings, SERVICE, CONSUMER_GROUP, handle_event, uow_factory)
    servicer = ComplaintServiceServicer(
        uow_factory,
        rules_from(own or ComplaintSettings(), working_calendar(settings)),
        wake=relay.wake,
        clock=clock,
    )
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(complaints_pb2_grpc.add_ComplaintServiceServicer_to_server, servicer)],
        workers=[relay, consumer],
        on_stop=[engine.dispose],
        settings=settings,
    )
