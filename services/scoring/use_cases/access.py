"""Who may act on an enterprise's grade and its decision records (the enterprise itself, the system, or a
regional role of the enterprise's region), and the lists of decision records as each caller may see them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.scoring.domain.decisions import DecisionCursor, DecisionQuery
from services.scoring.use_cases.queries import (
    decode_decision_token,
    next_decision_token,
    page_size_of,
    parse_decision_filter,
)
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, Role, listing_region, require_enterprise_read
from shared.regions import is_valid_region

T = TypeVar("T")


def require_access(uow: ScoringUoW, principal: Principal, uscc: str) -> None:
    """PERMISSION_DENIED unless the caller may act on enterprise `uscc` (in the open `uow`)."""
    require_enterprise_read(principal, uscc, region_of(uow, uscc))


def region_of(uow: ScoringUoW, uscc: str) -> str | None:
    """The enterprise's region, from its projection. Without one, the USCC's own division (registration
    authority, characters 3-8) is the best guess: a regulator cannot probe enterprises outside theirs."""
    enterprise = uow.enterprises.get(uscc)
    return enterprise.region_code if enterprise is not None else division_of(uscc)


def division_of(uscc: str) -> str | None:
    """The division that issued the USCC (characters 3-8), when it is a valid one."""
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


@dataclass(frozen=True)
class DecisionPage(Generic[T]):
    items: list[T]
    next_page_token: str  # empty on the last page


def list_decisions(
    uow: ScoringUoW,
    principal: Principal,
    what: str,
    uscc: str | None,
    filter_text: str,
    page_size: int,
    page_token: str,
    fetch: Callable[[DecisionQuery, int, DecisionCursor | None], list[T]],
    cursor_of: Callable[[T], DecisionCursor],
) -> DecisionPage[T]:
    """A page of the decision list `what` (a key of queries.DECISION_LISTS), oldest first, as the caller
    may see it; `fetch(query, limit, after)` reads it from the open `uow`."""
    size = page_size_of(page_size)
    query = parse_decision_filter(filter_text, what, uscc)
    with uow:
        query = scope_decisions(uow, principal, query, what)
        after = decode_decision_token(page_token, query, what)
        found = fetch(query, size + 1, after)
    return DecisionPage(found[:size], next_decision_token(found, size, query, what, cursor_of))
