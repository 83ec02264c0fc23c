"""The serious-dishonesty list (严重违法失信名单): the national credit system (role system) lists an
enterprise and later removes it; regulators and the enterprise itself read the listings. See
domain/dishonesty.py.

A listing and a removal are ingested as DishonestyListed and DishonestyRemoved events, which regrade the
enterprise in the same transaction (the policy's SERIOUS_DISHONESTY_LIST rule), and are published on the
scoring topic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from integrity.events.v1 import events_pb2
from services.scoring.domain.decisions import DecisionCursor
from services.scoring.domain.dishonesty import DishonestyListing, check_listing, check_removal
from services.scoring.domain.grades import Grade
from services.scoring.domain.names import dishonesty_listing_name, enterprise_name
from services.scoring.domain.policy import Policy
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.access import DecisionPage, list_decisions
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal
from shared.errors import concurrent_change, failed_precondition, not_found
from shared.events import new_event
from shared.idempotency import settled_after_conflict

LISTINGS = "dishonesty listings"


@dataclass(frozen=True)
class ListingDecision:
    listing: DishonestyListing
    grade: Grade  # the enterprise's grade after the listing or the removal


def list_enterprise(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    reason: str,
    decision_reference: str,
    authority: str,
    listed_at: datetime | None,
    now: datetime,
    request_id: str = "",
) -> ListingDecision:
    """Puts the enterprise on the list with effect from `listed_at` (default now); FAILED_PRECONDITION
    while it is listed already. A repeat with the same request id returns the first listing, also when
    both arrive at once (a unique index settles it)."""
    return settled_after_conflict(
        lambda: _list(
            uow, policy, principal, uscc, reason, decision_reference, authority, listed_at, now, request_id
        ),
        enterprise_name(uscc),
    )


def _list(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    reason: str,
    decision_reference: str,
    authority: str,
    listed_at: datetime | None,
    now: datetime,
    request_id: str = "",
) -> ListingDecision:
    listed_at = listed_at or now
    with uow:
        repeated = uow.listings.by_request_id(uscc, request_id) if request_id else None
        if repeated is not None:
            return ListingDecision(repeated, _grade(uow, uscc))
        check_listing(reason, decision_reference, authority, listed_at, now)
        if uow.enterprises.get(uscc) is None:
            raise not_found(enterprise_name(uscc))
        active = uow.listings.active_of(uscc)
        if active is not None:
            raise failed_precondition(
                f"enterprise {uscc} is listed already ({active.name}, since {active.listed_at.isoformat()}); "
                "remove that listing first",
                "ALREADY_LISTED",
            )
        listing_id = str(uuid.uuid4())
        payload = events_pb2.DishonestyListed(
            listing=dishonesty_listing_name(uscc, listing_id),
            reason=reason,
            decision_reference=decision_reference,
            authority=authority,
            listed_by=principal.subject,
        )
        event = new_event(SOURCE, uscc, payload, occurred_at=listed_at)
        ingest(uow, policy, event)  # the hard rule holds from the listing's time: regraded here
        uow.add_event(TOPIC, event)
        listing = DishonestyListing(
            listing_id,
            uscc,
            reason,
            decision_reference,
            authority,
            listed_at,
            principal.subject,
            request_id,
            event.id,
        )
        uow.listings.add(listing)
        grade = _grade(uow, uscc)
        uow.commit()
    return ListingDecision(listing, grade)


def remove_listing(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    listing_id: str,
    reason: str,
    removed_at: datetime | None,
    now: datetime,
) -> ListingDecision:
    """Takes the enterprise off the list with effect from `removed_at` (default now)."""
    removed_at = removed_at or now
    with uow:
        listing = uow.listings.get(listing_id)
        if listing is None or listing.uscc != uscc:
            raise not_found(dishonesty_listing_name(uscc, listing_id))
        check_removal(listing, reason, removed_at, now)
        payload = events_pb2.DishonestyRemoved(
            listing=listing.name, reason=reason, removed_by=principal.subject
        )
        event = new_event(SOURCE, uscc, payload, occurred_at=removed_at)
        ingest(uow, policy, event)
        uow.add_event(TOPIC, event)
        removed = listing.removed(reason, principal.subject, removed_at, event.id)
        if not uow.listings.save(removed):
            raise concurrent_change(listing.name)  # removed meanwhile: this removal rolls back
        grade = _grade(uow, uscc)
        uow.commit()
    return ListingDecision(removed, grade)


def list_listings(
    uow: ScoringUoW, principal: Principal, uscc: str | None, filter_text: str, page_size: int, page_token: str
) -> DecisionPage[DishonestyListing]:
    """A page of listings, oldest first: the system's all, a regulator's region, an enterprise's own."""
    return list_decisions(
        uow,
        principal,
        LISTINGS,
        uscc,
        filter_text,
        page_size,
        page_token,
        fetch=lambda query, limit, after: uow.listings.list(query, limit, after),
        cursor_of=lambda listing: DecisionCursor(listing.listed_at, listing.id),
    )


def _grade(uow: ScoringUoW, uscc: str) -> Grade:
    grade = uow.grades.get(uscc)
    if grade is None:
        raise not_found(enterprise_name(uscc))
    return grade
