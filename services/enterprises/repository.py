"""Where enterprises are kept: a repository over the registry table, returning domain objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session, col, select

from services.enterprises.domain import Enterprise
from services.enterprises.listing import EnterpriseQuery
from services.enterprises.tables import EnterpriseRow
from shared.regions import region_prefix


class EnterpriseRepository(Protocol):
    def add(self, enterprise: Enterprise) -> None: ...

    def get(self, uscc: str) -> Enterprise | None: ...

    def get_by_request_id(self, request_id: str) -> Enterprise | None: ...

    def list(self, query: EnterpriseQuery, after_uscc: str | None, limit: int) -> list[Enterprise]:
        """Up to `limit` matches in USCC order, those after `after_uscc` (keyset pagination)."""
        ...


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_row(enterprise: Enterprise) -> EnterpriseRow:
    return EnterpriseRow(
        uscc=enterprise.uscc,
        display_name=enterprise.display_name,
        region_code=enterprise.region_code,
        industry_code=enterprise.industry_code,
        subject_type=enterprise.subject_type,
        size_class=enterprise.size_class,
        registered_date=enterprise.registered_date,
        status=enterprise.status,
        create_time=_utc(enterprise.create_time),
        update_time=_utc(enterprise.update_time),
        etag=enterprise.etag,
        request_id=enterprise.request_id,
    )


def from_row(row: EnterpriseRow) -> Enterprise:
    return Enterprise(
        uscc=row.uscc,
        display_name=row.display_name,
        region_code=row.region_code,
        industry_code=row.industry_code,
        subject_type=row.subject_type,
        size_class=row.size_class,
        registered_date=row.registered_date,
        status=row.status,
        create_time=_utc(row.create_time),
        update_time=_utc(row.update_time),
        etag=row.etag,
        request_id=row.request_id,
    )


class SqlEnterpriseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, enterprise: Enterprise) -> None:
        self.session.add(to_row(enterprise))

    def get(self, uscc: str) -> Enterprise | None:
        row = self.session.get(EnterpriseRow, uscc)
        return from_row(row) if row is not None else None

    def get_by_request_id(self, request_id: str) -> Enterprise | None:
        row = self.session.exec(select(EnterpriseRow).where(EnterpriseRow.request_id == request_id)).first()
        return from_row(row) if row is not None else None

    def list(self, query: EnterpriseQuery, after_uscc: str | None, limit: int) -> list[Enterprise]:
        statement = select(EnterpriseRow)
        if query.region_code is not None:
            # Division codes are digits only, so the prefix needs no LIKE escaping.
            prefix = region_prefix(query.region_code)
            statement = statement.where(col(EnterpriseRow.region_code).startswith(prefix))
        if query.industry_code is not None:
            statement = statement.where(EnterpriseRow.industry_code == query.industry_code)
        if query.subject_type is not None:
            statement = statement.where(EnterpriseRow.subject_type == query.subject_type)
        if query.status is not None:
            statement = statement.where(EnterpriseRow.status == query.status)
        if query.uscc is not None:
            statement = statement.where(EnterpriseRow.uscc == query.uscc)
        if after_uscc is not None:
            statement = statement.where(col(EnterpriseRow.uscc) > after_uscc)
        statement = statement.order_by(col(EnterpriseRow.uscc)).limit(limit)
        return [from_row(row) for row in self.session.exec(statement)]
