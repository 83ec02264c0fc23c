"""Who may act where beyond the method access rules, and the audit trail of what they did."""

from __future__ import annotations

import logging

from shared.auth import Principal, Role
from shared.errors import permission_denied
from shared.regions import region_contains

audit_log = logging.getLogger("integrity.audit")


def require_region(principal: Principal, region_code: str) -> None:
    """Regulators act within their region; the system anywhere."""
    if principal.role == Role.SYSTEM:
        return
    if (
        principal.role == Role.REGULATOR
        and principal.region
        and region_contains(principal.region, region_code)
    ):
        return
    raise permission_denied(
        f"{principal.role} {principal.subject!r} of region {principal.region} may not act in {region_code}",
        "OUTSIDE_REGION",
    )


def audit(action: str, resource: str, principal: Principal, **extra: object) -> None:
    audit_log.info(
        f"inspections {action}",
        extra={
            "action": action,
            "resource": resource,
            "subject": principal.subject,
            "role": str(principal.role),
            **extra,
        },
    )
