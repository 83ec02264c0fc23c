"""The enterprise registry's tables (SQLModel); column types stay portable to PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime
from sqlmodel import Field, SQLModel


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
