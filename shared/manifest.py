"""What a service declares about itself, in one place (its `manifest.py`), for the layers that collect it.

The platform receives what it needs from the service that runs (its access rules, its name and port);
the operations layer collects every manifest (`operations.catalogue`) to start the stack, create topics,
import history and register commands. Nothing outside a service enumerates services by name.

Heavy parts (the bootstrap, tables, the history use case, commands) are named by reference,
"package.module:attribute", and loaded only by whoever needs them, so reading a manifest imports no
service code beyond it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.auth import Role

# "package.module:attribute", resolved by `load`.
Ref = str


def load(ref: Ref) -> Any:
    """The attribute a reference names, importing its module."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{ref!r} is not a reference of the form 'package.module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class HistoryRules:
    """How a legacy history's events reach this service (`integrity import`).

    `owns`: the event payloads (oneof field names of integrity.events.v1.Event) this service produces and
    accepts from an import. `stage`: the use case that checks a batch of them by the service's own rules
    and stages them in an open unit of work (`(uow, events, topic) -> list[ImportOutcome]`).
    `refuses`: payloads that are never imported, with the reason a person reads.
    """

    owns: frozenset[str] = frozenset()
    stage: Ref | None = None
    refuses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    """Periodic work of a service: an `integrity` command run every day at `at` (HH:MM, China time). In
    production a Kubernetes CronJob (infra/k8s/), in `make run` the local stack's scheduler."""

    name: str  # e.g. "scoring-recompute": the CronJob's name and the local log file's
    at: str
    command: tuple[str, ...]  # the `integrity` arguments
    timezone: str = "Asia/Shanghai"

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, _, minute = self.at.partition(":")
        return int(hour), int(minute)

    @property
    def cron(self) -> str:
        """The schedule as a cron expression (in `timezone`)."""
        hour, minute = self.hour_minute
        return f"{minute} {hour} * * *"


@dataclass(frozen=True)
class ServiceManifest:
    """A service's declaration: identity, API and who may call it, topics, storage, history, commands."""

    name: str  # e.g. "enterprises": the process, its settings prefix and its database
    default_port: int
    api: str  # the proto service, e.g. "integrity.enterprises.v1.EnterpriseService"
    # RPC method name -> the roles that may call it. Anything not listed is denied.
    access: Mapping[str, tuple[Role, ...]]
    bootstrap: Ref  # build_app(settings) -> shared.grpc_server.ServiceApp
    tables: Ref  # the SQLModel tables of its database, created at start and before an import
    unit_of_work: Ref  # the SQL unit of work class: UnitOfWork(engine)
    # The package of its database's Alembic revisions (shared.migrations), e.g. "<pkg>.adapters.migrations".
    migrations: str | None = None
    publishes: str | None = None  # its topic (key = USCC); the dead-letter topic is derived
    consumes: tuple[str, ...] = ()
    history: HistoryRules = HistoryRules()
    commands: tuple[Ref, ...] = ()  # register(subparsers) functions of its `integrity` subcommands
    schedules: tuple[Schedule, ...] = ()  # its periodic `integrity` commands

    @property
    def package(self) -> str:
        """The service's Python package (`python -m` runs it), where its bootstrap lives."""
        return self.bootstrap.partition(":")[0].rpartition(".")[0]

    def method_roles(self) -> dict[str, frozenset[Role]]:
        """Full method names, e.g. `/integrity.scoring.v1.ScoringService/GetGrade`, -> allowed roles."""
        return {f"/{self.api}/{method}": frozenset(roles) for method, roles in self.access.items()}


@dataclass(frozen=True)
class WebManifest:
    """A web process's declaration (the console): what the stack needs to start it, probe it and tell it
    where the services it calls are. It serves HTTP, not gRPC, and owns no database or topic."""

    name: str  # the process and its settings prefix, e.g. "console" (CONSOLE_PORT)
    default_port: int
    package: str  # `python -m <package>` runs it
    health_path: str  # answers 200 once it serves
    # The services it is a client of: name -> default gRPC port (`<NAME>_PORT` moves them, as for the
    # services themselves; `INTEGRITY_CONSOLE_<NAME>_ADDRESS` points it at another host).
    upstreams: Mapping[str, int] = field(default_factory=dict)
