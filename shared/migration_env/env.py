"""Alembic's env.py for a service database: the connection and the service's tables come from
shared.migrations (Config.attributes), never from an alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

config = context.config
target_metadata = config.attributes["target_metadata"]


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite alters a table by copying it; PostgreSQL gets plain ALTER TABLE.
        render_as_batch=True,
        **kwargs,
    )


if context.is_offline_mode():  # `integrity db upgrade --sql`: the SQL a DBA reviews, not run
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection: Connection = config.attributes["connection"]
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
