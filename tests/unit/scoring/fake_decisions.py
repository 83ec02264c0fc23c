"""The decision repositories of scoring's fake unit of work (fakes.py): appeals with their override
reviews, credit repairs and the enterprises' applications, serious-dishonesty listings; in memory, with
the same methods and list order as the SQL ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from services.scoring.domain.appeals import ACCEPTED, PENDING, Appeal, OverrideReview
from services.scoring.domain.decisions import DecisionCursor, DecisionQuery
from services.scoring.domain.dishonesty import DishonestyListing
from services.scoring.domain.history import ProjectedEnterprise
from services.scoring.domain.repairs import PENDING as APPLICATION_PENDING
from services.scoring.domain.repairs import CreditRepair, RepairApplication
from shared.regions import region_prefix

T = TypeVar("T")


def _decisions(
    records: list[T],
    query: DecisionQuery,
    after: DecisionCursor | None,
    limit: int,
    cursor_of: Callable[[T], DecisionCursor],
    enterprises: dict[str, ProjectedEnterprise],
) -> list[T]:
    """The query's enterprise and region (through the projection), after the cursor, oldest first."""

    def matches(record: Any) -> bool:
        enterprise = enterprises.get(record.uscc)
        region = query.region_code
        return query.uscc in (None, record.uscc) and (
            region is None
            or (enterprise is not None and enterprise.region_code.startswith(region_prefix(region)))
        )

    def key(record: T) -> tuple[datetime, str]:
        cursor = cursor_of(record)
        return cursor.time, cursor.id

    found = sorted((r for r in records if matches(r)), key=key)
    if after is not None:
        found = [r for r in found if key(r) > (after.time, after.id)]
    return found[:limit]


class FakeAppealRepository:
    """Like the SQL one, appeals and their reviews are kept apart: `save` drops an appeal's reviews."""

    def __init__(
        self,
        rows: dict[str, Appeal],
        reviews: dict[str, list[OverrideReview]],
        enterprises: dict[str, ProjectedEnterprise],
    ) -> None:
        self.rows = rows
        self.reviews = reviews
        self.enterprises = enterprises

    def get(self, appeal_id: str) -> Appeal | None:
        appeal = self.rows.get(appeal_id)
        return None if appeal is None else self._with_reviews(appeal)

    def _with_reviews(self, appeal: Appeal) -> Appeal:
        return replace(appeal, reviews=tuple(self.reviews.get(appeal.id, ())))

    def by_request_id(self, uscc: str, request_id: str) -> Appeal | None:
        found = next((a for a in self.rows.values() if (a.uscc, a.request_id) == (uscc, request_id)), None)
        return None if found is None else self._with_reviews(found)

    def pending_of(self, uscc: str) -> Appeal | None:
        found = next((a for a in self.rows.values() if a.uscc == uscc and a.state == PENDING), None)
        return None if found is None else self._with_reviews(found)

    def add(self, appeal: Appeal) -> None:
        self.rows[appeal.id] = replace(appeal, reviews=())

    def save(self, appeal: Appeal, expected_state: str, expected_expire_at: datetime | None = None) -> bool:
        assert appeal.id in self.rows  # an appeal is saved after it was read
        stored = self.rows[appeal.id]
        if stored.state != expected_state or expected_expire_at not in (None, stored.override_expire_at):
            return False
        self.rows[appeal.id] = replace(appeal, reviews=())
        return True

    def add_review(self, appeal_id: str, review: OverrideReview) -> None:
        self.reviews[appeal_id] = [*self.reviews.get(appeal_id, []), review]

    def list(
        self, query: DecisionQuery, now: datetime, limit: int, after: DecisionCursor | None
    ) -> list[Appeal]:
        def wanted(appeal: Appeal) -> bool:
            holds = (
                appeal.state == ACCEPTED
                and appeal.override_expire_at is not None
                and now < appeal.override_expire_at
            )
            return query.state in (None, appeal.state) and query.active in (None, holds)

        chosen = [a for a in self.rows.values() if wanted(a)]
        found = _decisions(
            chosen, query, after, limit, lambda a: DecisionCursor(a.created_at, a.id), self.enterprises
        )
        return [self._with_reviews(a) for a in found]


class FakeRepairApplicationRepository:
    def __init__(
        self, rows: dict[str, RepairApplication], enterprises: dict[str, ProjectedEnterprise]
    ) -> None:
        self.rows = rows
        self.enterprises = enterprises

    def get(self, application_id: str) -> RepairApplication | None:
        return self.rows.get(application_id)

    def by_request_id(self, uscc: str, request_id: str) -> RepairApplication | None:
        return next((a for a in self.rows.values() if (a.uscc, a.request_id) == (uscc, request_id)), None)

    def pending_of(self, uscc: str, rule_code: str) -> RepairApplication | None:
        return next(
            (
                a
                for a in self.rows.values()
                if (a.uscc, a.rule_code, a.state) == (uscc, rule_code, APPLICATION_PENDING)
            ),
            None,
        )

    def add(self, application: RepairApplication) -> None:
        self.rows[application.id] = application

    def save(self, application: RepairApplication, expected_state: str) -> bool:
        assert application.id in self.rows
        if self.rows[application.id].state != expected_state:
            return False
        self.rows[application.id] = application
        return True

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[RepairApplication]:
        chosen = [a for a in self.rows.values() if query.state in (None, a.state)]
        return _decisions(
            chosen, query, after, limit, lambda a: DecisionCursor(a.created_at, a.id), self.enterprises
        )


class FakeDishonestyListingRepository:
    def __init__(
        self, rows: dict[str, DishonestyListing], enterprises: dict[str, ProjectedEnterprise]
    ) -> None:
        self.rows = rows
        self.enterprises = enterprises

    def get(self, listing_id: str) -> DishonestyListing | None:
        return self.rows.get(listing_id)

    def by_request_id(self, uscc: str, request_id: str) -> DishonestyListing | None:
        return next(
            (item for item in self.rows.values() if (item.uscc, item.request_id) == (uscc, request_id)), None
        )

    def active_of(self, uscc: str) -> DishonestyListing | None:
        return next((item for item in self.rows.values() if item.uscc == uscc and item.active), None)

    def add(self, listing: DishonestyListing) -> None:
        self.rows[listing.id] = listing

    def save(self, listing: DishonestyListing) -> bool:
        assert listing.id in self.rows
        if not self.rows[listing.id].active:
            return False
        self.rows[listing.id] = listing
        return True

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[DishonestyListing]:
        chosen = [item for item in self.rows.values() if query.active in (None, item.active)]
        return _decisions(
            chosen,
            query,
            after,
            limit,
            lambda item: DecisionCursor(item.listed_at, item.id),
            self.enterprises,
        )


class FakeCreditRepairRepository:
    def __init__(self, rows: dict[str, CreditRepair]) -> None:
        self.rows = rows

    def get(self, repair_id: str) -> CreditRepair | None:
        return self.rows.get(repair_id)

    def by_request_id(self, uscc: str, request_id: str) -> CreditRepair | None:
        return next((r for r in self.rows.values() if (r.uscc, r.request_id) == (uscc, request_id)), None)

    def add(self, repair: CreditRepair) -> None:
        self.rows[repair.id] = repair
