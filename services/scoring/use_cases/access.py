"""Who may act on an enterprise's grade: the enterprise itself, the system, or a regional role of the
enterprise's region."""

from __future__ import annotations

from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, require_enterprise_read
from shared.regions import is_valid_region


def require_access(uow: ScoringUoW, principal: Principal, uscc: str) -> None:
    """PERMISSION_DENIED unless the caller may act on enterprise `uscc` (in the open `uow`)."""
    require_enterprise_read(principal, uscc, region_of(uow, uscc))


def region_of(uow: ScoringUoW, uscc: str) -> str | None:
    """The enterprise's region, from its projection. Without one, the USCC's own division (registration
    authority, characters 3-8) is the best guess: a regulator cannot probe enterprises outside theirs."""
    enterprise = uow.enterprises.get(uscc)
    if enterprise is not None:
        return enterprise.region_code
    division = uscc[2:8]
    return division if is_valid_region(division) else None
