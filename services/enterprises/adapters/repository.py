"""Where the registry is kept: SQL repositories over its tables, domain objects in and out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, Result, Table, bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.enterprises.adapters.tables import (
    CapabilityDeclarationRow,
    CommitmentRow,
    EnterpriseRow,
    InstrumentRow,
    VerificationRow,
)
from services.enterprises.domain.declarations import CapabilityDeclaration, Commitment
from services.enterprises.domain.enterprise import Enterprise, EnterpriseQuery
from services.enterprises.domain.instruments import Instrument, Verification
from shared.regions import region_prefix


def _in_utc(values: dict[str, Any], *times: str) -> dict[str, Any]:
    """`values` with the named timestamps in UTC: everything is stored in UTC, and SQLite hands timestamps
    back without their zone."""
    return {**values, **{t: _utc(values[t]) for t in times if values[t] is not None}}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_ENTERPRISES: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]

# The lookups of a registration, built once (building a statement per call cost more than running it) and
# read as Core rows: no ORM object is made for a row only looked at.
_BY_USCC = sa_select(_ENTERPRISES).where(_ENTERPRISES.c.uscc == bindparam("key"))
_BY_REQUEST_ID = sa_select(_ENTERPRISES).where(_ENTERPRISES.c.request_id == bindparam("key")).limit(1)


def _execute(session: Session, statement: Executable, params: dict[str, Any]) -> Result[Any]:
    """A Core statement on the transaction's connection; pending ORM rows are flushed first, as the ORM's
    autoflush would."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, params)


def to_row(enterprise: Enterprise) -> EnterpriseRow:
    return EnterpriseRow(**_in_utc(vars(enterprise), "create_time", "update_time"))


def from_row(row: EnterpriseRow) -> Enterprise:
    return Enterprise(**_in_utc(row.model_dump(), "create_time", "update_time"))


def _from_core(row: Any) -> Enterprise:
    return Enterprise(**_in_utc(row._asdict(), "create_time", "update_time"))


class SqlEnterpriseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, enterprise: Enterprise) -> None:
        self.session.add(to_row(enterprise))

    def get(self, uscc: str) -> Enterprise | None:
        row = _execute(self.session, _BY_USCC, {"key": uscc}).first()
        return _from_core(row) if row is not None else None

    def replace(self, enterprise: Enterprise, expected_etag: str) -> bool:
        # Compare-and-set in one statement, so two concurrent updates from the same etag cannot both win.
        # A plain UPDATE: rows this transaction added go to the database first.
        self.session.flush()
        row = to_row(enterprise)
        values = {k: v for k, v in row.model_dump().items() if k not in ("uscc", "create_time", "request_id")}
        statement = (
            update(EnterpriseRow)
            .where(col(EnterpriseRow.uscc) == enterprise.uscc, col(EnterpriseRow.etag) == expected_etag)
            .values(**values)
        )
        result = self.session.execute(statement)
        return bool(result.rowcount == 1)

    def get_by_request_id(self, request_id: str) -> Enterprise | None:
        row = _execute(self.session, _BY_REQUEST_ID, {"key": request_id}).first()
        return _from_core(row) if row is not None else None

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


# --- instruments ------------------------------------------------------------------------------------


def _instrument(row: InstrumentRow) -> Instrument:
    return Instrument(**_in_utc(row.model_dump(), "create_time"))


class SqlInstrumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, instrument: Instrument) -> None:
        self.session.add(InstrumentRow(**vars(instrument)))

    def get(self, uscc: str, instrument_id: str) -> Instrument | None:
        row = self.session.get(InstrumentRow, instrument_id)
        return _instrument(row) if row is not None and row.uscc == uscc else None

    def get_by_request_id(self, request_id: str) -> Instrument | None:
        row = self.session.exec(select(InstrumentRow).where(InstrumentRow.request_id == request_id)).first()
        return _instrument(row) if row is not None else None

    def find_serial(self, uscc: str, instrument_type: int, serial_number: str) -> Instrument | None:
        statement = select(InstrumentRow).where(
            InstrumentRow.uscc == uscc,
            InstrumentRow.type == instrument_type,
            InstrumentRow.serial_number == serial_number,
        )
        row = self.session.exec(statement).first()
        return _instrument(row) if row is not None else None

    def list(self, uscc: str, after_id: str | None, limit: int) -> list[Instrument]:
        statement = select(InstrumentRow).where(InstrumentRow.uscc == uscc)
        if after_id is not None:
            statement = statement.where(col(InstrumentRow.instrument_id) > after_id)
        statement = statement.order_by(col(InstrumentRow.instrument_id)).limit(limit)
        return [_instrument(row) for row in self.session.exec(statement)]

    def verifications(self, instrument_ids: list[str]) -> dict[str, list[Verification]]:
        found: dict[str, list[Verification]] = {i: [] for i in instrument_ids}
        if not instrument_ids:
            return found
        statement = (
            select(VerificationRow)
            .where(col(VerificationRow.instrument_id).in_(instrument_ids))
            .order_by(col(VerificationRow.id))
        )
        for row in self.session.exec(statement):
            found[row.instrument_id].append(
                Verification(row.verification_date, row.result, row.certificate_number, row.next_due_date)
            )
        return found

    def add_verification(self, instrument_id: str, verification: Verification, recorded_at: datetime) -> None:
        self.session.add(
            VerificationRow(instrument_id=instrument_id, recorded_at=recorded_at, **vars(verification))
        )


# --- self-declarations ------------------------------------------------------------------------------


def _commitment(row: CommitmentRow) -> Commitment:
    items = tuple(int(i) for i in row.items.split(",") if i)
    return Commitment(**{**_in_utc(row.model_dump(), "create_time", "withdraw_time"), "items": items})


def _commitment_row(commitment: Commitment) -> CommitmentRow:
    return CommitmentRow(**{**vars(commitment), "items": ",".join(map(str, commitment.items))})


def _capability(row: CapabilityDeclarationRow) -> CapabilityDeclaration:
    return CapabilityDeclaration(**_in_utc(row.model_dump(), "declare_time"))


class SqlDeclarationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_commitment(self, commitment: Commitment) -> None:
        self.session.add(_commitment_row(commitment))

    def get_commitment(self, uscc: str, commitment_id: str) -> Commitment | None:
        row = self.session.get(CommitmentRow, commitment_id)
        return _commitment(row) if row is not None and row.uscc == uscc else None

    def save_commitment(self, commitment: Commitment) -> bool:
        """Stores a withdrawn commitment only while the stored one is not withdrawn yet (its one transition):
        one statement, so two concurrent withdrawals cannot both win. False when another got there first."""
        self.session.flush()  # a commitment this transaction added is written first
        result = self.session.execute(
            update(CommitmentRow)
            .where(
                col(CommitmentRow.commitment_id) == commitment.commitment_id,
                col(CommitmentRow.withdraw_time).is_(None),
            )
            .values(withdraw_time=commitment.withdraw_time)
        )
        return bool(result.rowcount == 1)

    def add_capability(self, declaration: CapabilityDeclaration) -> None:
        self.session.add(CapabilityDeclarationRow(**vars(declaration)))

    def get_capability(self, uscc: str, declaration_id: str) -> CapabilityDeclaration | None:
        row = self.session.get(CapabilityDeclarationRow, declaration_id)
        return _capability(row) if row is not None and row.uscc == uscc else None

    def commitment_by_request_id(self, request_id: str) -> Commitment | None:
        row = self.session.exec(select(CommitmentRow).where(CommitmentRow.request_id == request_id)).first()
        return _commitment(row) if row is not None else None

    def capability_by_request_id(self, request_id: str) -> CapabilityDeclaration | None:
        statement = select(CapabilityDeclarationRow).where(CapabilityDeclarationRow.request_id == request_id)
        row = self.session.exec(statement).first()
        return _capability(row) if row is not None else None

    def commitments_of(self, uscc: str, offset: int, limit: int) -> list[Commitment]:
        statement = (
            select(CommitmentRow)
            .where(CommitmentRow.uscc == uscc)
            .order_by(CommitmentRow.create_time.desc(), CommitmentRow.commitment_id)  # type: ignore[attr-defined]
            .offset(offset)
            .limit(limit)
        )
        return [_commitment(row) for row in self.session.exec(statement)]

    def capabilities_of(self, uscc: str, offset: int, limit: int) -> list[CapabilityDeclaration]:
        statement = (
            select(CapabilityDeclarationRow)
            .where(CapabilityDeclarationRow.uscc == uscc)
            .order_by(
                CapabilityDeclarationRow.declare_time.desc(),  # type: ignore[attr-defined]
                CapabilityDeclarationRow.declaration_id,
            )
            .offset(offset)
            .limit(limit)
        )
        return [_capability(row) for row in self.session.exec(statement)]

    def by_public_code(self, code: str) -> Commitment | CapabilityDeclaration | None:
        row = self.session.exec(select(CommitmentRow).where(CommitmentRow.public_code == code)).first()
        if row is not None:
            return _commitment(row)
        statement = select(CapabilityDeclarationRow).where(CapabilityDeclarationRow.public_code == code)
        declared = self.session.exec(statement).first()
        return _capability(declared) if declared is not None else None
