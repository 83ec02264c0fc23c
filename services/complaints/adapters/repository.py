"""Where complaints are kept: a repository over the complaint and contact tables, returning domain objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, Result, Table, and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.complaints.adapters.tables import ComplainantRow, ComplaintRow, RegistryCopyRow
from services.complaints.domain.complaint import (
    ACCEPTED,
    INVESTIGATING,
    MATCHED,
    RECEIVED,
    UNMATCHED,
    Complaint,
    ComplaintQuery,
)
from services.complaints.domain.intake import Contact
from shared.db import insert_unless_present
from shared.regions import region_prefix


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_PLAIN = (
    "id",
    "uscc",
    "category",
    "channel",
    "description",
    "location",
    "anonymous",
    "complainant_key",
    "filer_subject",
    "filer_role",
    "receipt_code",
    "request_id",
    "duplicate_of",
    "match_status",
    "state",
    "etag",
    "rejection_reason",
    "substantiated",
    "severity",
    "resolution",
    "reward_eligible",
    "region_code",
)
_TIMES = ("occur_time", "create_time", "update_time", "accept_time", "resolve_time")


_COMPLAINTS: Table = ComplaintRow.__table__  # type: ignore[attr-defined]
_REGISTRY_COPY: Table = RegistryCopyRow.__table__  # type: ignore[attr-defined]

# The reads of an intake, built once (building a statement per call cost more than running it) and run as
# Core rows: no ORM object is made for a row only looked at.
_BY_REQUEST_ID = sa_select(_COMPLAINTS).where(_COMPLAINTS.c.request_id == bindparam("key")).limit(1)
_ORIGINAL = (
    sa_select(_COMPLAINTS)
    .where(
        _COMPLAINTS.c.complainant_key == bindparam("complainant_key"),
        _COMPLAINTS.c.uscc == bindparam("uscc"),
        _COMPLAINTS.c.category == bindparam("category"),
        _COMPLAINTS.c.duplicate_of.is_(None),
        _COMPLAINTS.c.create_time >= bindparam("since"),
    )
    .order_by(_COMPLAINTS.c.create_time, _COMPLAINTS.c.id)
    .limit(1)
)
_HELD_REGION = (
    sa_select(_REGISTRY_COPY.c.region_code).where(_REGISTRY_COPY.c.uscc == bindparam("key")).with_for_update()
)


def _execute(session: Session, statement: Executable, params: dict[str, Any]) -> Result[Any]:
    """A Core statement on the transaction's connection; pending ORM rows are flushed first, as the ORM's
    autoflush would."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, params)


def _columns(complaint: Complaint) -> dict[str, object]:
    values: dict[str, object] = {name: getattr(complaint, name) for name in _PLAIN}
    values.update({name: _utc(getattr(complaint, name)) for name in _TIMES})
    values["evidence_uris"] = json.dumps(list(complaint.evidence_uris), ensure_ascii=False)
    return values


def from_row(row: Any) -> Complaint:
    """The complaint of a row (an ORM ComplaintRow or a Core row of its table)."""
    values: dict[str, object] = {name: getattr(row, name) for name in _PLAIN}
    values.update({name: _utc(getattr(row, name)) for name in _TIMES})
    values["evidence_uris"] = tuple(json.loads(row.evidence_uris))
    return Complaint(**values)  # type: ignore[arg-type]


class SqlComplaintRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, complaint: Complaint, contact: Contact | None) -> None:
        self.session.add(ComplaintRow(**_columns(complaint)))
        if contact is not None:
            # Flushed in order: the contact row references the complaint row.
            self.session.flush()
            self.session.add(
                ComplainantRow(
                    complaint_id=complaint.id, display_name=contact.display_name, phone=contact.phone
                )
            )

    def save(self, complaint: Complaint, expected_etag: str) -> bool:
        """Writes a changed complaint if it still has `expected_etag`; False when someone changed it first."""
        values = _columns(complaint)
        values.pop("id")
        result = self.session.execute(
            update(ComplaintRow)
            .where(col(ComplaintRow.id) == complaint.id, col(ComplaintRow.etag) == expected_etag)
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def get(self, complaint_id: str) -> Complaint | None:
        row = self.session.get(ComplaintRow, complaint_id)
        return from_row(row) if row is not None else None

    def get_by_request_id(self, request_id: str) -> Complaint | None:
        row = _execute(self.session, _BY_REQUEST_ID, {"key": request_id}).first()
        return from_row(row) if row is not None else None

    def get_by_receipt(self, receipt_code: str) -> Complaint | None:
        row = self.session.exec(select(ComplaintRow).where(ComplaintRow.receipt_code == receipt_code)).first()
        return from_row(row) if row is not None else None

    def contact_of(self, complaint_id: str) -> Contact | None:
        row = self.session.get(ComplainantRow, complaint_id)
        return Contact(row.display_name, row.phone) if row is not None else None

    def find_original(
        self, complainant_key: str, uscc: str, category: int, since: datetime
    ) -> Complaint | None:
        """The earliest non-duplicate by the same complainant, enterprise and category since `since`."""
        params = {"complainant_key": complainant_key, "uscc": uscc, "category": category, "since": since}
        row = _execute(self.session, _ORIGINAL, params).first()
        return from_row(row) if row is not None else None

    def list(self, query: ComplaintQuery, after_id: str | None, limit: int) -> list[Complaint]:
        """Up to `limit` matches, newest first, those older than `after_id` (keyset pagination)."""
        statement = select(ComplaintRow)
        if query.uscc is not None:
            statement = statement.where(ComplaintRow.uscc == query.uscc)
        if query.region_code is not None:
            # Division codes are digits only, so the prefix needs no LIKE escaping.
            statement = statement.where(
                col(ComplaintRow.region_code).startswith(region_prefix(query.region_code))
            )
        if query.state is not None:
            statement = statement.where(ComplaintRow.state == query.state)
        if query.states is not None:
            statement = statement.where(col(ComplaintRow.state).in_(sorted(query.states)))
        if query.category is not None:
            statement = statement.where(ComplaintRow.category == query.category)
        if query.duplicate is not None:
            duplicate_of = col(ComplaintRow.duplicate_of)
            statement = statement.where(
                duplicate_of.is_not(None) if query.duplicate else duplicate_of.is_(None)
            )
        if query.filer_subject is not None:
            statement = statement.where(
                ComplaintRow.filer_subject == query.filer_subject, ComplaintRow.filer_role == "system"
            )
        if after_id is not None:
            statement = statement.where(col(ComplaintRow.id) < after_id)
        statement = statement.order_by(col(ComplaintRow.id).desc()).limit(limit)
        return [from_row(row) for row in self.session.exec(statement)]

    def unmatched_of(self, uscc: str) -> list[Complaint]:
        """The complaints against `uscc` not matched to a registered enterprise yet, oldest first."""
        statement = (
            select(ComplaintRow)
            .where(ComplaintRow.uscc == uscc, ComplaintRow.match_status == UNMATCHED)
            .order_by(col(ComplaintRow.id))
        )
        return [from_row(row) for row in self.session.exec(statement)]

    def move_region(self, uscc: str, region_code: str) -> None:
        """The matched complaints against `uscc` follow the enterprise to its new registered region."""
        self.session.execute(
            update(ComplaintRow)
            .where(col(ComplaintRow.uscc) == uscc, col(ComplaintRow.match_status) == MATCHED)
            .values(region_code=region_code)
        )

    def list_overdue(
        self,
        region_code: str,
        received_before: datetime,
        accepted_before: datetime,
        after_id: str | None,
        limit: int,
    ) -> list[Complaint]:
        """Open complaints in `region_code` past their deadline, oldest first, those after `after_id`."""
        statement = select(ComplaintRow).where(
            col(ComplaintRow.region_code).startswith(region_prefix(region_code)),
            or_(
                and_(col(ComplaintRow.state) == RECEIVED, col(ComplaintRow.create_time) < received_before),
                and_(
                    col(ComplaintRow.state).in_([ACCEPTED, INVESTIGATING]),
                    col(ComplaintRow.accept_time) < accepted_before,
                ),
            ),
        )
        if after_id is not None:
            statement = statement.where(col(ComplaintRow.id) > after_id)
        statement = statement.order_by(col(ComplaintRow.id)).limit(limit)
        return [from_row(row) for row in self.session.exec(statement)]


class SqlRegistryCopyRepository:
    """The registered regions of enterprises, as the enterprises topic announced them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hold(self, uscc: str) -> str | None:
        """Locks the USCC's row for the rest of the transaction (created when first named) and returns the
        enterprise's registered region; None while the registry has not announced it. The insert comes
        first: on SQLite it takes the write lock before anything is read."""
        insert_unless_present(self.session, _REGISTRY_COPY, {"uscc": uscc, "region_code": ""}, key="uscc")
        region = _execute(self.session, _HELD_REGION, {"key": uscc}).scalar_one()
        return region or None

    def record(self, uscc: str, region_code: str) -> str | None:
        """Stores the enterprise's registered region (holding its row); the region known before, if any."""
        previous = self.hold(uscc)
        if previous != region_code:
            self.session.execute(
                update(RegistryCopyRow)
                .where(col(RegistryCopyRow.uscc) == uscc)
                .values(region_code=region_code)
            )
        return previous
