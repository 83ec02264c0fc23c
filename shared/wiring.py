"""The wiring every service's bootstrap repeats: its database at the code's schema revision, and its relay."""

from __future__ import annotations

from sqlalchemy import Engine

from shared.db import make_engine
from shared.manifest import ServiceManifest
from shared.migrations import ensure_current
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.tracing import instrument_engine


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
    )
