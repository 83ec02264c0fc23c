"""Reading grades: one enterprise's current grade, and risk lists (enterprises by risk, highest first).

Access is checked per enterprise (an enterprise sees only itself) and per region (a regulator sees only
their region and its children); the server has already authenticated the caller and checked the method's
roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.scoring.domain.grades import Grade
from services.scoring.domain.names import grade_name
from services.scoring.domain.risk_list import RiskCursor, RiskEntry, RiskFilter
from services.scoring.use_cases.access import division_of
from services.scoring.use_cases.queries import (
    decode_page_token,
    encode_page_token,
    page_size_of,
    parse_filter,
)
from shared.auth import Principal, Role, listing_region, require_enterprise_read
from shared.errors import ErrorKind, IntegrityError


class GradeReads(Protocol):
    """The reads behind GetGrade and ListRiskEntries, each one statement outside any unit of work (a read
    changes nothing, and these are the API's hottest paths): `adapters/read_models.py`."""

    def grade_and_region(self, uscc: str) -> tuple[Grade | None, str | None]:
        """The enterprise's current grade and its projected region code (None for what is not there)."""
        ...

    def risk_entries(self, risk_filter: RiskFilter, limit: int, after: RiskCursor | None) -> list[RiskEntry]:
        """Up to `limit` entries in risk order (level D first, then probability, USCC), after `after`."""
        ...


def get_grade(reads: GradeReads, principal: Principal, uscc: str) -> Grade:
    """The enterprise's current grade; NOT_FOUND until its registration reached scoring."""
    if principal.role == Role.ENTERPRISE:
        # Decided before any lookup, so another enterprise cannot learn whether `uscc` exists.
        require_enterprise_read(principal, uscc, None)
    grade, region = reads.grade_and_region(uscc)
    # Without a projection, the USCC's own division is the best guess: a regulator cannot probe
    # enterprises outside theirs.
    require_enterprise_read(principal, uscc, region if region is not None else division_of(uscc))
    if grade is None:
        raise IntegrityError(
            f"{grade_name(uscc)} does not exist yet: scoring has no registration of enterprise {uscc}. "
            "If it was registered moments ago, the registration may still be in flight to scoring; "
            "retry shortly.",
            "GRADE_NOT_FOUND",
            ErrorKind.NOT_FOUND,
            {"resource": grade_name(uscc)},
        )
    return grade


@dataclass(frozen=True)
class RiskPage:
    entries: list[RiskEntry]
    next_page_token: str  # empty on the last page
    risk_filter: RiskFilter  # as narrowed to the caller's region


def list_risk_entries(
    reads: GradeReads, principal: Principal, filter_text: str, page_size: int, page_token: str
) -> RiskPage:
    """A page of the risk list the filter asks for, within the caller's region (AIP-158 pagination)."""
    size = page_size_of(page_size)
    risk_filter = scope_to_principal(parse_filter(filter_text), principal)
    after = decode_page_token(page_token, risk_filter) if page_token else None
    # One extra row tells whether another page follows.
    entries = reads.risk_entries(risk_filter, size + 1, after)
    next_page_token = ""
    if len(entries) > size:
        entries = entries[:size]
        next_page_token = encode_page_token(entries[-1].cursor, risk_filter)
    return RiskPage(entries, next_page_token, risk_filter)


def scope_to_principal(risk_filter: RiskFilter, principal: Principal) -> RiskFilter:
    """A regional caller's filter, narrowed to their region: none given -> theirs; outside -> denied."""
    if principal.role == Role.SYSTEM:
        return risk_filter
    return risk_filter.with_region(listing_region(principal, risk_filter.region_code, "risk entries"))
