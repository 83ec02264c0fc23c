"""Schema migrations (Alembic): one history per service database, run by `integrity db upgrade`.

Each service keeps its revisions in the package its manifest names (`ServiceManifest.migrations`,
`services/<name>/adapters/migrations/`); the first is the baseline generated from the models, and the
platform's tables (outbox, watermarks, inbox) are part of every history that uses them. Alembic's
environment is shared (`shared/migration_env/`) and receives the connection and the service's tables
from here, so there is no alembic.ini to keep in step with the settings.

At start a service checks its database (`ensure_current`): at the newest revision it starts; a new, empty
database is brought to it when the settings allow (the default locally; production runs the migration
Job instead); anything else, a database behind the code or ahead of it, refuses to start with one line
naming the command to run.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, MetaData, inspect

from shared.db import with_companions
from shared.manifest import ServiceManifest, load

log = logging.getLogger("integrity.migrations")

ENVIRONMENT = Path(__file__).with_name("migration_env")
UPGRADE_COMMAND = "integrity db upgrade"
VERSION_TABLE = "alembic_version"


class SchemaNotCurrent(SystemExit):
    """The database is not at the revision this code needs. A SystemExit: `python -m services.<name>`
    ends with this one line on stderr (exit status 1) instead of a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision (None: not under migrations), the code's, and whether it
    holds any of the service's tables."""

    service: str
    current: str | None
    head: str
    known: bool  # `current` is a revision of this code's history (False: a newer code's database)
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables

    def describe(self) -> str:
        if self.up_to_date:
            return f"{self.service}: at {self.head} (current)"
        if self.empty:
            return f"{self.service}: empty; `{UPGRADE_COMMAND}` creates the schema at {self.head}"
        if self.current is None:
            return (
                f"{self.service}: tables created before migrations, no revision; `{UPGRADE_COMMAND}` adopts "
                f"them as the baseline and upgrades to {self.head}"
            )
        if not self.known:
            return (
                f"{self.service}: at {self.current}, a revision this code does not know (written by a newer "
                f"version?); this code needs {self.head}"
            )
        return f"{self.service}: at {self.current}, behind {self.head}; run `{UPGRADE_COMMAND}`"


def metadata(manifest: ServiceManifest) -> MetaData:
    """The service's tables (with the platform's companions) alone, as the migrations should build them."""
    target = MetaData()
    for table in with_companions(load(manifest.tables)):
        table.to_metadata(target)
    return target


def versions_dir(manifest: ServiceManifest) -> Path:
    if not manifest.migrations:
        raise ValueError(f"{manifest.name} declares no migrations package")
    module = importlib.import_module(manifest.migrations)
    assert module.__file__ is not None
    return Path(module.__file__).parent


def config(manifest: ServiceManifest, **attributes: object) -> Config:
    """Alembic's configuration for the service's history; `attributes` reach env.py (the connection)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ENVIRONMENT))
    cfg.set_main_option("version_locations", str(versions_dir(manifest)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["target_metadata"] = metadata(manifest)
    cfg.attributes.update(attributes)
    return cfg


def script(manifest: ServiceManifest) -> ScriptDirectory:
    return ScriptDirectory.from_config(config(manifest))


def status(engine: Engine, manifest: ServiceManifest) -> Status:
    history = script(manifest)
    head = history.get_current_head()
    assert head is not None, f"{manifest.name} has no migrations"
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
        present = set(inspect(connection).get_table_names())
    current = heads[0] if heads else None
    known = current is None or _known(history, current)
    own = {table.name for table in metadata(manifest).sorted_tables}
    return Status(manifest.name, current, head, known, bool(own & present))


def _known(history: ScriptDirectory, revision: str) -> bool:
    try:
        return history.get_revision(revision) is not None
    except CommandError:
        return False


def ensure_current(engine: Engine, manifest: ServiceManifest, *, create_empty: bool) -> None:
    """Returns when the database is at the code's revision (an empty one is first upgraded to it when
    `create_empty`); raises SchemaNotCurrent with the one line an operator acts on otherwise."""
    state = status(engine, manifest)
    if state.up_to_date:
        return
    if state.empty and create_empty:
        upgrade(engine, manifest)
        log.info("created the %s schema at %s", manifest.name, state.head)
        return
    where = engine.url.render_as_string(hide_password=True)
    raise SchemaNotCurrent(f"{state.describe()} (database {where}); the service will not start on it")


def upgrade(engine: Engine, manifest: ServiceManifest, revision: str = "head") -> Status:
    """Upgrades to `revision`. A database whose tables were created before migrations existed (by
    create_all) is first stamped with the baseline, which is what create_all made."""
    before = status(engine, manifest)
    if not before.known:
        raise SchemaNotCurrent(before.describe())
    with engine.begin() as connection:
        cfg = config(manifest, connection=connection)
        if before.current is None and before.has_tables:
            base = script(manifest).get_base()
            log.warning("%s: adopting tables created before migrations as revision %s", manifest.name, base)
            command.stamp(cfg, base)
        command.upgrade(cfg, revision)
    return status(engine, manifest)


def differences(engine: Engine, manifest: ServiceManifest) -> list[object]:
    """What would have to change for the database to match the models (empty: they match)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata(manifest)))


def missing(table: str, index: str | None = None, *, column: str | None = None) -> bool:
    """For a revision's upgrade: whether `table` (or its `index`, or its `column`) is still to be made.
    A database whose tables were created before migrations existed (adopted as the baseline by `upgrade`)
    holds what the code of its day created, which later revisions may add too; they skip it. Offline (SQL
    for a DBA): always True."""
    from alembic import context, op

    if context.is_offline_mode():
        return True
    found = inspect(op.get_bind())
    if column is not None:
        return column not in {c["name"] for c in found.get_columns(table)}
    if index is None:
        return not found.has_table(table)
    return index not in {i["name"] for i in found.get_indexes(table)}


def offline_sql(url: str, manifest: ServiceManifest, revision: str = "head") -> None:
    """Prints the SQL of an upgrade from nothing to `revision` (for a DBA to review), running none."""
    cfg = config(manifest)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision, sql=True)


def new_revision(engine: Engine, manifest: ServiceManifest, message: str) -> Path:
    """Generates the next revision of the service's history from the difference between the database
    (which must be at head) and the models. Returns the file written."""
    history = script(manifest)
    if history.get_current_head() is not None:  # else this is the baseline
        ensure_current(engine, manifest, create_empty=True)
    number = len(list(history.walk_revisions())) + 1
    with engine.begin() as connection:
        written = command.revision(
            config(manifest, connection=connection),
            message=message,
            autogenerate=True,
            rev_id=f"{number:04d}",
        )
    assert written is not None and not isinstance(written, list)
    return Path(written.path)
