"""The enterprise registry's tables (SQLModel); column types stay portable to PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord


class EnterpriseRow(SQLModel, table=True):
    # Not plain "enterprises": every service's tables share one SQLModel MetaData in a process.
    __tablename__ = "enterprise_registry"

    uscc: str = Field(primary_key=True, max_length=18)
    display_name: str = Field(max_length=200)
    region_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=5)
    subject_type: int
    size_class: int = 0
    registered_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    status: int
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    etag: str = Field(max_length=64)
    # AIP-155 idempotency key of the create; NULLs do not collide (SQLite and PostgreSQL alike).
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)


class InstrumentRow(SQLModel, table=True):
    __tablename__ = "enterprise_instruments"
    # One registration per physical instrument: retries of a create meet this constraint.
    __table_args__ = (UniqueConstraint("uscc", "type", "serial_number", name="uq_instrument_serial"),)

    instrument_id: str = Field(primary_key=True, max_length=16)
    uscc: str = Field(max_length=18, index=True)
    type: int
    serial_number: str = Field(max_length=64)
    location: str = Field(default="", max_length=200)
    usage: int
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # AIP-155 idempotency key of the create, as on the registry.
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)


class VerificationRow(SQLModel, table=True):
    __tablename__ = "enterprise_instrument_verifications"

    id: int | None = Field(default=None, primary_key=True)
    instrument_id: str = Field(max_length=16, index=True)
    verification_date: date = Field(sa_column=Column(Date, nullable=False))
    result: int
    certificate_number: str = Field(max_length=64)
    next_due_date: date = Field(sa_column=Column(Date, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CommitmentRow(SQLModel, table=True):
    __tablename__ = "enterprise_commitments"

    commitment_id: str = Field(primary_key=True, max_length=16)
    uscc: str = Field(max_length=18, index=True)
    # CommitmentItem numbers, comma-separated and sorted (a handful; never queried by item).
    items: str = Field(max_length=200)
    free_text: str = Field(default="", max_length=2000)
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_until: date = Field(sa_column=Column(Date, nullable=False))
    public_code: str = Field(max_length=16, unique=True)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    withdraw_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)


class CapabilityDeclarationRow(SQLModel, table=True):
    __tablename__ = "enterprise_capability_declarations"

    declaration_id: str = Field(primary_key=True, max_length=16)
    uscc: str = Field(max_length=18, index=True)
    has_management_system: bool
    iso10012_certificate_number: str = Field(default="", max_length=64)
    instrument_count: int
    metrology_staff_count: int
    in_house_calibration: bool
    public_code: str = Field(max_length=16, unique=True)
    declare_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)


# Every table of the registry's database: created when the service (or a history import) starts.
TABLES: list[type[SQLModel]] = [
    EnterpriseRow,
    InstrumentRow,
    VerificationRow,
    CommitmentRow,
    CapabilityDeclarationRow,
    OutboxRecord,
    ProcessedEvent,
]
