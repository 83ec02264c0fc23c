"""Who may act where beyond the method access rules: regulators within their region, the system anywhere,
inspectors on the plans of their region or those they are assigned to."""

from __future__ import annotations

from collections.abc import Iterable

from services.inspections.domain.inspectors import inspector_id_of
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


def require_plan_read(principal: Principal, region_code: str, teams: Iterable[tuple[str, ...]]) -> None:
    """PERMISSION_DENIED unless the caller may read a plan of `region_code` whose inspections have `teams`:
    the system; a regulator of the region; an inspector of the region, or one assigned to the plan."""
    if principal.role == Role.INSPECTOR:
        if principal.region and region_contains(principal.region, region_code):
            return
        officer = inspector_id_of(principal.subject)
        if officer is not None and any(officer in team for team in teams):
            return
        raise permission_denied(
            f"inspector {principal.subject!r} of region {principal.region} is neither of region "
            f"{region_code} nor assigned to this plan",
            "OUTSIDE_REGION",
        )
    require_region(principal, region_code)
