"""Every service of the system, as each declares itself: the one list of services in the code, and the web
console that is their client.

The local stack starts them, topics are created for what they publish, history import dispatches events
to their owners, and the CLI registers their commands, all from these manifests.
"""

from __future__ import annotations

from console.manifest import CONSOLE
from services.complaints.manifest import SERVICE as COMPLAINTS
from services.enterprises.manifest import SERVICE as ENTERPRISES
from services.inspections.manifest import SERVICE as INSPECTIONS
from services.scoring.manifest import SERVICE as SCORING
from shared.access import MethodRoles
from shared.manifest import ServiceManifest, WebManifest

# In start order: the sources of truth first, then scoring, which consumes them.
SERVICES: tuple[ServiceManifest, ...] = (ENTERPRISES, COMPLAINTS, INSPECTIONS, SCORING)
BY_NAME: dict[str, ServiceManifest] = {service.name: service for service in SERVICES}
# Web processes the stack starts after the services: clients of their APIs, never a source of events.
WEB: tuple[WebManifest, ...] = (CONSOLE,)


def service(name: str) -> ServiceManifest:
    """The manifest of the service called `name`; KeyError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no service {name!r}; known: {', '.join(BY_NAME)}") from None


def topics() -> tuple[str, ...]:
    """Every topic a service publishes (their dead-letter topics are derived)."""
    return tuple(s.publishes for s in SERVICES if s.publishes)


def publishers() -> tuple[ServiceManifest, ...]:
    """The services whose events history import and export carry: the sources of truth, and scoring for
    the decisions on grades."""
    return tuple(s for s in SERVICES if s.history.owns)


def owners() -> dict[str, ServiceManifest]:
    """Event payload (oneof field name) -> the service that owns it in an import."""
    return {kind: s for s in SERVICES for kind in s.history.owns}


def refusals() -> dict[str, str]:
    """Event payloads that are never imported -> why, in words a person reads."""
    return {kind: reason for s in SERVICES for kind, reason in s.history.refuses.items()}


def method_roles() -> MethodRoles:
    """Every RPC of every service -> the roles that may call it."""
    return {method: roles for s in SERVICES for method, roles in s.method_roles().items()}
