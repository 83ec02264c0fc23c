"""The complaints service's tables (SQLModel); column types stay portable to PostgreSQL.

The complainant's contact lives in its own table, read only to answer the system caller that filed it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord


class ComplaintRow(SQLModel, table=True):
    __tablename__ = "complaints"

    id: str = Field(primary_key=True, max_length=24)
    uscc: str = Field(max_length=18, index=True)
    region_code: str = Field(max_length=6, index=True)
    category: int
    channel: int
    description: str = Field(sa_column=Column(Text, nullable=False))
    occur_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    location: str = Field(default="", max_length=200)
    # JSON array of strings.
    evidence_uris: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    anonymous: bool
    complainant_key: str = Field(max_length=64, index=True)
    # The caller's token subject, unbounded in length.
    filer_subject: str = Field(sa_column=Column(Text, nullable=False, index=True))
    filer_role: str = Field(max_length=16)
    receipt_code: str = Field(max_length=12, unique=True)
    # AIP-155 idempotency key of the create; NULLs do not collide.
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)
    duplicate_of: str | None = Field(default=None, max_length=24, nullable=True)
    match_status: int
    state: int = Field(index=True)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    accept_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolve_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    etag: str = Field(max_length=64)
    rejection_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    substantiated: bool = False
    severity: int = 0
    resolution: str = Field(default="", sa_column=Column(Text, nullable=False))
    reward_eligible: bool = False


class ComplainantRow(SQLModel, table=True):
    __tablename__ = "complainant_contacts"

    complaint_id: str = Field(primary_key=True, max_length=24, foreign_key="complaints.id")
    display_name: str = Field(default="", max_length=50)
    phone: str = Field(default="", max_length=20)


class RegistryCopyRow(SQLModel, table=True):
    """What the service knows of the enterprise registry, from the enterprises topic: an enterprise's
    registered region. A row with an empty region is a USCC complained about that the registry has not
    announced yet; intake and matching lock the same row, so neither misses the other."""

    __tablename__ = "complaint_registry_copy"

    uscc: str = Field(primary_key=True, max_length=18)
    region_code: str = Field(default="", max_length=6)


# Every table of the complaints database: created when the service (or a history import) starts.
TABLES = [ComplaintRow, ComplainantRow, RegistryCopyRow, OutboxRecord, ProcessedEvent]
