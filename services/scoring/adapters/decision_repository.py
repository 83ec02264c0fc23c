"""Scoring's SQL repositories of the decisions on grades: appeals and their override reviews, credit repairs
and the enterprises' applications, serious-dishonesty listings (ORM rows: they are written one at a time,
by an API call or an import).

Lists read the oldest first (their time, then id) after a cursor; a region narrows them through the
enterprise projection (the enterprise's registered region).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import SQLModel, col, select

from services.scoring.adapters.repository import SqlRepository, domain_of
from services.scoring.adapters.tables import (
    AppealRow,
    CreditRepairRow,
    DishonestyListingRow,
    EnterpriseProjection,
    OverrideReviewRow,
    RepairApplicationRow,
)
from services.scoring.domain.appeals import ACCEPTED, PENDING, Appeal, OverrideReview
from services.scoring.domain.decisions import DecisionCursor, DecisionQuery
from services.scoring.domain.dishonesty import DishonestyListing
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.repairs import PENDING as APPLICATION_PENDING
from services.scoring.domain.repairs import CreditRepair, RepairApplication
from shared.regions import region_prefix

R = TypeVar("R", bound=SQLModel)


class SqlAppealRepository(SqlRepository):
    def get(self, appeal_id: str) -> Appeal | None:
        row = self.session.get(AppealRow, appeal_id)
        return None if row is None else self._appeal_of(row)

    def by_request_id(self, uscc: str, request_id: str) -> Appeal | None:
        statement = select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.request_id == request_id)
        row = self.session.exec(statement).first()
        return None if row is None else self._appeal_of(row)

    def pending_of(self, uscc: str) -> Appeal | None:
        statement = select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.state == PENDING)
        row = self.session.exec(statement).first()
        return None if row is None else self._appeal_of(row)

    def add(self, appeal: Appeal) -> None:
        self.session.add(AppealRow(**_appeal_values(appeal)))

    def save(self, appeal: Appeal, expected_state: str, expected_expire_at: datetime | None = None) -> bool:
        """Writes the decided (or reviewed) appeal only while its stored state is still `expected_state`
        and, when given, its override still ends at `expected_expire_at`: one statement, so two concurrent
        decisions cannot both win. False when another decided it first."""
        values = _appeal_values(appeal)
        del values["id"]
        statement = update(AppealRow).where(
            col(AppealRow.id) == appeal.id, col(AppealRow.state) == expected_state
        )
        if expected_expire_at is not None:
            statement = statement.where(col(AppealRow.override_expire_at) == expected_expire_at)
        return _updated_one(self.session.execute(statement.values(**values)))

    def add_review(self, appeal_id: str, review: OverrideReview) -> None:
        self.session.add(OverrideReviewRow(appeal_id=appeal_id, **vars(review)))

    def list(
        self, query: DecisionQuery, now: datetime, limit: int, after: DecisionCursor | None
    ) -> list[Appeal]:
        statement = _listing(AppealRow, AppealRow.created_at, query, after)
        if query.state is not None:
            statement = statement.where(AppealRow.state == query.state)
        if query.active is not None:
            holds = and_(AppealRow.state == ACCEPTED, col(AppealRow.override_expire_at) > now)
            statement = statement.where(holds if query.active else ~holds)
        return [self._appeal_of(row) for row in self.session.exec(statement.limit(limit))]

    def _appeal_of(self, row: AppealRow) -> Appeal:
        override = row.override_level
        reviews = self.session.exec(
            select(OverrideReviewRow)
            .where(OverrideReviewRow.appeal_id == row.id)
            .order_by(col(OverrideReviewRow.reviewed_at), col(OverrideReviewRow.event_id))
        )
        return domain_of(
            Appeal,
            row,
            appealed_level=GradeLevel(row.appealed_level),
            override_level=None if override is None else GradeLevel(override),
            reviews=tuple(domain_of(OverrideReview, review) for review in reviews),
        )


class SqlCreditRepairRepository(SqlRepository):
    def get(self, repair_id: str) -> CreditRepair | None:
        row = self.session.get(CreditRepairRow, repair_id)
        return None if row is None else domain_of(CreditRepair, row)

    def by_request_id(self, uscc: str, request_id: str) -> CreditRepair | None:
        statement = select(CreditRepairRow).where(
            CreditRepairRow.uscc == uscc, CreditRepairRow.request_id == request_id
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(CreditRepair, row)

    def add(self, repair: CreditRepair) -> None:
        self.session.add(CreditRepairRow(**vars(repair)))


class SqlRepairApplicationRepository(SqlRepository):
    def get(self, application_id: str) -> RepairApplication | None:
        row = self.session.get(RepairApplicationRow, application_id)
        return None if row is None else domain_of(RepairApplication, row)

    def by_request_id(self, uscc: str, request_id: str) -> RepairApplication | None:
        statement = select(RepairApplicationRow).where(
            RepairApplicationRow.uscc == uscc, RepairApplicationRow.request_id == request_id
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(RepairApplication, row)

    def pending_of(self, uscc: str, rule_code: str) -> RepairApplication | None:
        statement = select(RepairApplicationRow).where(
            RepairApplicationRow.uscc == uscc,
            RepairApplicationRow.rule_code == rule_code,
            RepairApplicationRow.state == APPLICATION_PENDING,
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(RepairApplication, row)

    def add(self, application: RepairApplication) -> None:
        self.session.add(RepairApplicationRow(**vars(application)))

    def save(self, application: RepairApplication, expected_state: str) -> bool:
        values = {k: v for k, v in vars(application).items() if k != "id"}
        statement = update(RepairApplicationRow).where(
            col(RepairApplicationRow.id) == application.id, col(RepairApplicationRow.state) == expected_state
        )
        return _updated_one(self.session.execute(statement.values(**values)))

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[RepairApplication]:
        statement = _listing(RepairApplicationRow, RepairApplicationRow.created_at, query, after)
        if query.state is not None:
            statement = statement.where(RepairApplicationRow.state == query.state)
        rows = self.session.exec(statement.limit(limit))
        return [domain_of(RepairApplication, row) for row in rows]


class SqlDishonestyListingRepository(SqlRepository):
    def get(self, listing_id: str) -> DishonestyListing | None:
        row = self.session.get(DishonestyListingRow, listing_id)
        return None if row is None else domain_of(DishonestyListing, row)

    def by_request_id(self, uscc: str, request_id: str) -> DishonestyListing | None:
        statement = select(DishonestyListingRow).where(
            DishonestyListingRow.uscc == uscc, DishonestyListingRow.request_id == request_id
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(DishonestyListing, row)

    def active_of(self, uscc: str) -> DishonestyListing | None:
        statement = select(DishonestyListingRow).where(
            DishonestyListingRow.uscc == uscc, col(DishonestyListingRow.removed_at).is_(None)
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(DishonestyListing, row)

    def add(self, listing: DishonestyListing) -> None:
        self.session.add(DishonestyListingRow(**vars(listing)))

    def save(self, listing: DishonestyListing) -> bool:
        values = {k: v for k, v in vars(listing).items() if k != "id"}
        statement = update(DishonestyListingRow).where(
            col(DishonestyListingRow.id) == listing.id, col(DishonestyListingRow.removed_at).is_(None)
        )
        return _updated_one(self.session.execute(statement.values(**values)))

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[DishonestyListing]:
        statement = _listing(DishonestyListingRow, DishonestyListingRow.listed_at, query, after)
        if query.active is not None:
            removed_at = col(DishonestyListingRow.removed_at)
            statement = statement.where(removed_at.is_(None) if query.active else removed_at.is_not(None))
        rows = self.session.exec(statement.limit(limit))
        return [domain_of(DishonestyListing, row) for row in rows]


def _listing(row_type: type[R], time: Any, query: DecisionQuery, after: DecisionCursor | None) -> Any:
    """The rows of `row_type` of the query's enterprise and region after the cursor, oldest first."""
    uscc, row_id = getattr(row_type, "uscc"), getattr(row_type, "id")  # noqa: B009 (any decision row)
    statement = select(row_type)
    if query.uscc is not None:
        statement = statement.where(uscc == query.uscc)
    if query.region_code is not None:
        # Division codes are digits only, so the prefix needs no LIKE escaping.
        statement = statement.join(EnterpriseProjection, col(EnterpriseProjection.uscc) == uscc).where(
            col(EnterpriseProjection.region_code).startswith(region_prefix(query.region_code))
        )
    if after is not None:
        statement = statement.where(_after(col(time), col(row_id), after))
    return statement.order_by(col(time), col(row_id))


def _after(time: Any, row_id: Any, cursor: DecisionCursor) -> ColumnElement[bool]:
    return or_(time > cursor.time, and_(time == cursor.time, row_id > cursor.id))


def _updated_one(result: Any) -> bool:
    return bool(result.rowcount == 1)


def _appeal_values(appeal: Appeal) -> dict[str, object]:
    values = {
        **vars(appeal),
        "appealed_level": int(appeal.appealed_level),
        "override_level": None if appeal.override_level is None else int(appeal.override_level),
    }
    del values["reviews"]  # rows of their own (add_review)
    return values
