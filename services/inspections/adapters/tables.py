"""The inspections service's tables (SQLModel); column types stay portable to PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, DateTime, Text
from sqlmodel import Field, SQLModel

from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord


class InspectorRow(SQLModel, table=True):
    __tablename__ = "inspectors"

    id: str = Field(primary_key=True, max_length=40)
    display_name: str = Field(max_length=50)
    region_code: str = Field(max_length=6, index=True)
    # Comma-separated Qualification numbers.
    qualifications: str = Field(max_length=100)
    available: bool = True
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EnterpriseCopyRow(SQLModel, table=True):
    """What this service knows of an enterprise, from the enterprises, scoring and complaints topics."""

    __tablename__ = "enterprise_copies"

    uscc: str = Field(primary_key=True, max_length=18)
    region_code: str = Field(max_length=6, index=True)
    display_name: str = Field(default="", sa_column=Column(Text, nullable=False))
    subject_type: int = 0
    status: int = 0
    # GradeLevel; 0 until a GradeChanged arrives.
    grade_level: int = 0
    # Non-empty while the enterprise must be in the next plan of its region, e.g. "COMPLAINT".
    trigger: str = Field(default="", max_length=40)


class PlanRow(SQLModel, table=True):
    __tablename__ = "inspection_plans"

    id: str = Field(primary_key=True, max_length=24)
    region_code: str = Field(max_length=6, index=True)
    subject_type: int = 0
    # JSON {level: ratio}.
    ratios: str = Field(sa_column=Column(Text, nullable=False))
    # 64-bit: a generated seed has 62 bits (PostgreSQL's INTEGER would refuse it).
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    # JSON of the draw inputs (services.inspections.domain.draw.inputs_to_json).
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    request_id: str | None = Field(default=None, max_length=36, unique=True, nullable=True)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PlanCommitmentRow(SQLModel, table=True):
    """What a plan published when it was drawn, and the secrets it keeps (the salt until the reveal, the tag
    key for ever). Its own table: plans drawn before commitments have none."""

    __tablename__ = "inspection_plan_commitments"

    plan_id: str = Field(primary_key=True, max_length=24)
    seed_commitment: str = Field(max_length=64)
    seed_salt: str = Field(max_length=64)
    snapshot_hash: str = Field(max_length=64)
    # JSON of the public draw inputs (services.inspections.domain.commitment.public_inputs).
    public_inputs: str = Field(sa_column=Column(Text, nullable=False))
    public_inputs_hash: str = Field(max_length=64)
    tag_key: str = Field(max_length=64)
    inspection_count: int
    seed_chosen_by_caller: bool = False
    reveal_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class InspectionRow(SQLModel, table=True):
    __tablename__ = "inspections"

    id: str = Field(primary_key=True, max_length=24)
    plan_id: str = Field(max_length=24, index=True)
    uscc: str = Field(max_length=18, index=True)
    region_code: str = Field(max_length=6, index=True)
    # Comma-separated inspector ids; the first leads.
    inspectors: str = Field(sa_column=Column(Text, nullable=False))
    # Position in the plan's draw (sorted by USCC), so verify compares in order.
    position: int
    trigger: str = Field(default="", max_length=40)
    state: int = Field(index=True)
    outcome: int = 0
    # JSON of the findings.
    findings: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    penalty_reference: str = Field(default="", max_length=100)
    rectification_deadline: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    complete_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    publish_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True, index=True))
    completed_by: str = Field(default="", max_length=40)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# Every table of the inspections database: created when the service (or a history import) starts.
TABLES = [
    InspectorRow,
    EnterpriseCopyRow,
    PlanRow,
    PlanCommitmentRow,
    InspectionRow,
    OutboxRecord,
    ProcessedEvent,
]
