"""The wiring every service's bootstrap repeats: its database at the code's schema revision, its outbox
relay and event consumer, and the working-day calendar its deadlines count with."""

from __future__ import annotations

from sqlalchemy import Engine

from shared.consumer import EventConsumer, EventHandler
from shared.db import UnitOfWorkFactory, make_engine
from shared.manifest import ServiceManifest
from shared.migrations import ensure_current
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.sql_tracing import instrument_engine
from shared.transport import kafka_options
from shared.workdays import WorkingCalendar, load_calendar


def service_database(settings: Settings, manifest: ServiceManifest) -> Engine:
    """The engine of the service's database, which must be at the code's schema revision: a new, empty one
    is created at it (unless settings.database_create_empty is off), anything else behind raises
    SchemaNotCurrent naming `integrity db upgrade`."""
    engine = make_engine(settings.database_url(manifest.name))
    try:
        ensure_current(engine, manifest, create_empty=settings.database_create_empty)
    except BaseException:
        engine.dispose()
        raise
    if settings.otlp_endpoint:
        instrument_engine(engine)
    return engine


def outbox_relay(engine: Engine, settings: Settings, manifest: ServiceManifest) -> OutboxRelay:
    """The relay that publishes the service's outbox, polling and backing off as the settings say."""
    return OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        poll_seconds=settings.relay_poll_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        client_id=f"integrity-{manifest.name}-relay",
        service=manifest.name,
        kafka=kafka_options(settings),
    )


def working_calendar(settings: Settings) -> WorkingCalendar:
    """The PRC working-day calendar with the operator's file (a service refuses to start on a bad file)."""
    return load_calendar(settings.calendar_path)


def event_consumer(
    engine: Engine,
    settings: Settings,
    manifest: ServiceManifest,
    group_id: str,
    handler: EventHandler,
    unit_of_work: UnitOfWorkFactory,
) -> EventConsumer:
    """The consumer of the topics the service's manifest lists, in group `group_id`, each poll batch in one
    of the service's units of work."""
    return EventConsumer(
        engine,
        settings.kafka_bootstrap_servers,
        group_id,
        list(manifest.consumes),
        handler,
        unit_of_work=unit_of_work,
        client_id=f"integrity-{manifest.name}-consumer",
        kafka=kafka_options(settings),
    )
