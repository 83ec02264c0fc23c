"""Method-level access rules: which roles may call which RPC. Unknown methods are denied.

Each service declares its rules in its manifest (`ServiceManifest.access`); the server checks every call
against the rules of the service it serves. Finer checks (a regulator's region, an enterprise seeing only
itself) happen in the use cases, e.g. with `shared.auth.require_enterprise_read`.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.auth import Principal, Role
from shared.errors import permission_denied, unauthenticated

# Infrastructure every client may use without a token: health checks (probes) and reflection (`buf curl`).
PUBLIC_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
)


def is_public_method(method: str) -> bool:
    """True for `/grpc.health.v1.Health/Check` and the like, which skip authentication entirely."""
    return method.lstrip("/").split("/", 1)[0] in PUBLIC_SERVICES


MethodRoles = Mapping[str, frozenset[Role]]
"""Full method name, e.g. `/integrity.scoring.v1.ScoringService/GetGrade` -> the roles allowed."""


def _token_hint(roles: frozenset[Role]) -> str:
    role = next(
        (r for r in (Role.REGULATOR, Role.SYSTEM, Role.INSPECTOR, Role.ENTERPRISE) if r in roles), Role.SYSTEM
    )
    scope = {Role.REGULATOR: " --region <code>", Role.ENTERPRISE: " --uscc <uscc>"}.get(role, "")
    return f"`integrity token --role {role}{scope}`"


def authorize(method: str, principal: Principal, rules: MethodRoles) -> None:
    """Raises unless `principal` may call `method` (full name, e.g. `/pkg.Service/Method`) under `rules`."""
    roles = rules.get(method)
    if roles is None:
        raise permission_denied(
            f"{method} is not in the access rules, so nobody may call it", "UNKNOWN_METHOD"
        )
    if principal.role in roles:
        return
    allowed = ", ".join(sorted(roles))
    if principal.role == Role.PUBLIC:
        raise unauthenticated(
            f"missing bearer token: {method} needs role {allowed}; get one with {_token_hint(roles)}",
            "MISSING_TOKEN",
        )
    raise permission_denied(
        f"role {principal.role} may not call {method} (allowed: {allowed})", "ROLE_NOT_ALLOWED"
    )
