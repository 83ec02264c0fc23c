"""The wiring every service's bootstrap repeats: its database with its tables, and its outbox relay."""

from __future__ import annotations

from sqlalchemy import Engine

from shared.db import create_tables, make_engine
from shared.manifest import ServiceManifest, load
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.transport import kafka_options


def service_database(settings: Settings, manifest: ServiceManifest) -> Engine:
    """The engine of the service's database, its tables created (the same list an import creates)."""
    engine = make_engine(settings.database_url(manifest.name))
    create_tables(engine, load(manifest.tables))
    return engine


def outbox_relay(engine: Engine, settings: Settings, manifest: ServiceManifest) -> OutboxRelay:
    """The relay that publishes the service's outbox, polling and backing off as the settings say."""
    return OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        poll_seconds=settings.relay_poll_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        client_id=f"integrity-{manifest.name}-relay",
        kafka=kafka_options(settings),
    )
