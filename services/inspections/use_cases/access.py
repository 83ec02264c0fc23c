"""Who may act where beyond the method access rules: regulators within their region, the system anywhere."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import permission_denied
from shared.regions import region_contains


def require_region(principal: Principal, region_code: str) -> None:
    """PERMISSION_DENIED (OUTSIDE_REGION) unless the caller may act in `region_code`."""
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
