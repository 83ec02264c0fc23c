"""Fixtures shared by every suite: a real Tansu broker and a database per test (SQLite, and PostgreSQL
when TEST_POSTGRES_URL points at a server where the tests may create databases)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import URL, make_url

from operations import catalogue
from operations.broker import LocalBroker, ensure_topics

POSTGRES_ENV = "TEST_POSTGRES_URL"

# Local state (keys, a promoted model, a loaded demo) of a developer's `make run` must not leak into the
# tests: unless a test says otherwise, var/ is a fresh folder for the session.
os.environ.setdefault("INTEGRITY_VAR_DIR", tempfile.mkdtemp(prefix="integrity-tests-var-"))

# Machines are shared and noisy: hypothesis checks behaviour here, never how long an example takes.
settings.register_profile("integrity", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("integrity")


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """One in-memory Tansu broker for the whole session, with the project's topics (and .dlt) created.

    Tests that need a clean topic make their own with a unique name (ensure_topics) instead of
    sharing state through these.
    """
    with LocalBroker() as local_broker:
        ensure_topics(local_broker.bootstrap, catalogue.topics())
        yield local_broker


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database that lives only for this test."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'test.db').as_posix()}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    yield from _postgres_database(make_url(server))


@pytest.fixture(params=["sqlite", "postgres"])
def service_database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An empty database per service ({service: URL}), for code that writes to several at once."""
    services = ("enterprises", "complaints", "inspections", "scoring")
    if request.param == "sqlite":
        yield {service: f"sqlite:///{(tmp_path / f'{service}.db').as_posix()}" for service in services}
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with contextlib.ExitStack() as stack:
        urls = {
            service: stack.enter_context(contextlib.contextmanager(_postgres_database)(make_url(server)))
            for service in services
        }
        yield urls


def _postgres_database(server: URL) -> Iterator[str]:
    import psycopg  # imported here: only needed when a PostgreSQL server is configured

    name = f"integrity_test_{uuid.uuid4().hex[:12]}"
    # psycopg wants a libpq URL: drop any "+driver" suffix from the SQLAlchemy form.
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            # FORCE (PostgreSQL 13+) ends sessions an engine of the test may still hold in its pool.
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
