"""Scoring's tables: the enterprise projection, each enterprise's event history, current grades, the grade
history, and the decisions on grades (appeals and their override reviews, credit repairs and the
enterprises' applications, serious-dishonesty listings); with the outbox and the inbox, the whole scoring
database (TABLES).

Names are prefixed `scoring_` because every service's models share one SQLModel MetaData. Times are
stored timezone-aware (PostgreSQL keeps the zone; SQLite hands them back naive, read as UTC).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, text
from sqlmodel import Field, SQLModel

from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord


class EnterpriseProjection(SQLModel, table=True):
    """What scoring needs to know about an enterprise, built from EnterpriseRegistered events."""

    __tablename__ = "scoring_enterprise_projection"

    uscc: str = Field(primary_key=True, max_length=18)
    display_name: str = Field(max_length=255)
    region_code: str = Field(index=True, max_length=6)
    industry_code: str = Field(default="", index=True, max_length=16)
    # The SubjectType enum name, e.g. "SUBJECT_TYPE_UTILITY": readable in the table and stable in protos.
    subject_type: str = Field(default="SUBJECT_TYPE_UNSPECIFIED", max_length=64)
    # Date of business registration as given ("YYYY-MM-DD"), empty when unknown.
    registered_date: str = Field(default="", max_length=10)
    # When the registration happened in the world (the event's occurred_at); newer events win.
    registered_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_event_id: str = Field(max_length=64)


class GradeRow(SQLModel, table=True):
    """An enterprise's current grade."""

    __tablename__ = "scoring_grades"

    uscc: str = Field(primary_key=True, max_length=18)
    level: int = Field(index=True)  # GradeLevel number: A=1 ... D=4
    score: int
    provisional: bool
    # JSON list of {"code", "text", "text_zh"}, most important first.
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    model_version: str = Field(max_length=64)
    policy_version: str = Field(max_length=64)
    feature_version: str = Field(max_length=64)
    violation_probability: float
    # The policy's label: the outcome violation_probability is about, e.g. "major_or_worse".
    label: str = Field(default="", max_length=32)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# Risk lists read grades in this order (level D first, then highest probability, USCC as tie-breaker)
# with keyset pagination; a list filtered by level walks only that level's part of it.
Index(
    "ix_scoring_grades_level_risk_order",
    GradeRow.__table__.c.level.desc(),  # type: ignore[attr-defined]
    GradeRow.__table__.c.violation_probability.desc(),  # type: ignore[attr-defined]
    GradeRow.__table__.c.uscc,  # type: ignore[attr-defined]
)


class GradeHistoryRow(SQLModel, table=True):
    """Every grade an enterprise has had, with the event that caused it."""

    __tablename__ = "scoring_grade_history"

    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(index=True, max_length=18)
    level: int
    previous_level: int | None = None  # None for the first grade
    score: int
    provisional: bool
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    violation_probability: float
    as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    model_version: str = Field(max_length=64)
    policy_version: str = Field(max_length=64)
    feature_version: str = Field(max_length=64)
    label: str = Field(default="", max_length=32)
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    cause_event_id: str = Field(index=True, max_length=64)


# The dashboards' recent level changes and the latest of them read the history newest first.
Index("ix_scoring_grade_history_as_of", GradeHistoryRow.__table__.c.as_of)  # type: ignore[attr-defined]


class EnterpriseEventRow(SQLModel, table=True):
    """One source event about an enterprise, kept whole so features can be computed as of any date."""

    __tablename__ = "scoring_events"

    event_id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(max_length=18)
    # The payload's oneof field name, e.g. "inspection_completed".
    type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The serialized integrity.events.v1.Event envelope.
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The grade level just after this event's time when the history is stepped through in time order;
    # None until the enterprise is graded. A late event resumes the replay from here instead of the start.
    level_after: int | None = None


# Features read one enterprise's history in time order.
Index(
    "ix_scoring_events_uscc_time",
    EnterpriseEventRow.__table__.c.uscc,  # type: ignore[attr-defined]
    EnterpriseEventRow.__table__.c.occurred_at,  # type: ignore[attr-defined]
)


class CreditRepairRow(SQLModel, table=True):
    """A credit repair granted by a regulator: who, when, why, and the event that carries it."""

    __tablename__ = "scoring_credit_repairs"

    id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(index=True, max_length=18)
    rule_code: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    decided_by: str = Field(max_length=255)
    # AIP-155 idempotency key of the request, empty when none was given.
    request_id: str = Field(default="", index=True, max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_id: str = Field(max_length=64)


class AppealRow(SQLModel, table=True):
    """An enterprise's appeal against its grade and the regulator's decision: who, when, why."""

    __tablename__ = "scoring_appeals"

    id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(index=True, max_length=18)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)  # AppealState name without prefix: PENDING, ACCEPTED, REJECTED
    appealed_level: int
    filed_by: str = Field(max_length=255)
    request_id: str = Field(default="", index=True, max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: str = Field(default="", max_length=255)
    decision_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    override_level: int | None = None
    override_expire_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    override_event_id: str = Field(default="", max_length=64)


class OverrideReviewRow(SQLModel, table=True):
    """A regulator's review of an accepted appeal's override: who, when, why, and the expiry it set."""

    __tablename__ = "scoring_override_reviews"

    event_id: str = Field(primary_key=True, max_length=64)  # the OverrideReviewed event
    appeal_id: str = Field(index=True, max_length=64)
    action: str = Field(max_length=16)  # CONFIRM, SHORTEN or LIFT
    previous_expire_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expire_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reviewed_by: str = Field(max_length=255)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reviewed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RepairApplicationRow(SQLModel, table=True):
    """An enterprise's credit repair application with its new commitment letter, and the decision."""

    __tablename__ = "scoring_repair_applications"

    id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(index=True, max_length=18)
    rule_code: str = Field(max_length=64)
    commitment_letter: str = Field(sa_column=Column(Text, nullable=False))
    rectification_statement: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    state: str = Field(max_length=16)  # PENDING, GRANTED or REFUSED
    applied_by: str = Field(max_length=255)
    request_id: str = Field(default="", index=True, max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    event_id: str = Field(max_length=64)
    decided_by: str = Field(default="", max_length=255)
    decision_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    credit_repair_id: str = Field(default="", max_length=64)


class DishonestyListingRow(SQLModel, table=True):
    """A listing on the serious-dishonesty list and its removal: who, when (in effect), why."""

    __tablename__ = "scoring_dishonesty_listings"

    id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(index=True, max_length=18)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    decision_reference: str = Field(max_length=200)
    authority: str = Field(default="", max_length=200)
    listed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    listed_by: str = Field(max_length=255)
    request_id: str = Field(default="", index=True, max_length=128)
    event_id: str = Field(max_length=64)
    removed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    removed_by: str = Field(default="", max_length=255)
    removal_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    removal_event_id: str = Field(default="", max_length=64)


# The database settles concurrent requests: one pending appeal per enterprise, and a request id names one
# appeal, repair, repair application or dishonesty listing of an enterprise.
Index(
    "ux_scoring_appeals_pending",
    AppealRow.__table__.c.uscc,  # type: ignore[attr-defined]
    unique=True,
    sqlite_where=text("state = 'PENDING'"),
    postgresql_where=text("state = 'PENDING'"),
)
# One pending application per enterprise and rule; one active listing per enterprise.
Index(
    "ux_scoring_repair_applications_pending",
    RepairApplicationRow.__table__.c.uscc,  # type: ignore[attr-defined]
    RepairApplicationRow.__table__.c.rule_code,  # type: ignore[attr-defined]
    unique=True,
    sqlite_where=text("state = 'PENDING'"),
    postgresql_where=text("state = 'PENDING'"),
)
Index(
    "ux_scoring_dishonesty_listings_active",
    DishonestyListingRow.__table__.c.uscc,  # type: ignore[attr-defined]
    unique=True,
    sqlite_where=text("removed_at IS NULL"),
    postgresql_where=text("removed_at IS NULL"),
)
_IDEMPOTENT = (AppealRow, CreditRepairRow, RepairApplicationRow, DishonestyListingRow)
for _table in (row.__table__ for row in _IDEMPOTENT):  # type: ignore[attr-defined]
    Index(
        f"ux_{_table.name}_request",
        _table.c.uscc,
        _table.c.request_id,
        unique=True,
        sqlite_where=text("request_id != ''"),
        postgresql_where=text("request_id != ''"),
    )


# Every table of the scoring database: created when the service, `integrity scoring recompute` or a
# history import starts.
TABLES: list[type[SQLModel]] = [
    EnterpriseProjection,
    GradeRow,
    GradeHistoryRow,
    EnterpriseEventRow,
    CreditRepairRow,
    AppealRow,
    OverrideReviewRow,
    RepairApplicationRow,
    DishonestyListingRow,
    OutboxRecord,
    ProcessedEvent,
]
