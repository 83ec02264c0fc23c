"""Who may act on an enterprise's grade and its decision records: the enterprise itself, the system, or a
regional role of the enterprise's region."""

from __future__ import annotations

from services.scoring.domain.decisions import DecisionQuery
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, Role, listing_region, require_enterprise_read
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


def scope_decisions(uow: ScoringUoW, principal: Principal, query: DecisionQuery, what: str) -> DecisionQuery:
    """A decision list's query as the caller may see it (in the open `uow`): the system everything; an
    enterprise its own records only; a regulator their region (another region is PERMISSION_DENIED)."""
    if principal.role == Role.SYSTEM:
        return query
    if principal.role == Role.ENTERPRISE and query.uscc is None and principal.uscc:
        return query.with_uscc(principal.uscc)
    if query.uscc is not None:
        require_access(uow, principal, query.uscc)
        if principal.role == Role.ENTERPRISE:
            return query
    return query.with_region(listing_region(principal, query.region_code, what))
