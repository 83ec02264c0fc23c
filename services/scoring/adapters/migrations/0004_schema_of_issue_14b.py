"""schema of issue 14b

Issue 14b: dishonesty listings (one active per enterprise), override reviews and repair applications (one
pending per rule), each with its unique guards. A database created by create_all before migrations may
hold these tables already; they are kept (shared.migrations.missing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:30:27.922334
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared.migrations import missing

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("scoring_dishonesty_listings"):
        op.create_table(
            "scoring_dishonesty_listings",
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("decision_reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
            sa.Column("authority", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
            sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("listed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
            sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("removed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
            sa.Column("removal_reason", sa.Text(), nullable=False),
            sa.Column("removal_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("scoring_dishonesty_listings", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_scoring_dishonesty_listings_listed_at"), ["listed_at"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_scoring_dishonesty_listings_request_id"), ["request_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_scoring_dishonesty_listings_uscc"), ["uscc"], unique=False)
            batch_op.create_index(
                "ux_scoring_dishonesty_listings_active",
                ["uscc"],
                unique=True,
                sqlite_where=sa.text("removed_at IS NULL"),
                postgresql_where=sa.text("removed_at IS NULL"),
            )
            batch_op.create_index(
                "ux_scoring_dishonesty_listings_request",
                ["uscc", "request_id"],
                unique=True,
                sqlite_where=sa.text("request_id != ''"),
                postgresql_where=sa.text("request_id != ''"),
            )

    if missing("scoring_override_reviews"):
        op.create_table(
            "scoring_override_reviews",
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("appeal_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
            sa.Column("previous_expire_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expire_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("event_id"),
        )
        with op.batch_alter_table("scoring_override_reviews", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_scoring_override_reviews_appeal_id"), ["appeal_id"], unique=False
            )

    if missing("scoring_repair_applications"):
        op.create_table(
            "scoring_repair_applications",
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
            sa.Column("rule_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("commitment_letter", sa.Text(), nullable=False),
            sa.Column("rectification_statement", sa.Text(), nullable=False),
            sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
            sa.Column("applied_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
            sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
            sa.Column("decision_reason", sa.Text(), nullable=False),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("credit_repair_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("scoring_repair_applications", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_scoring_repair_applications_created_at"), ["created_at"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_scoring_repair_applications_request_id"), ["request_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_scoring_repair_applications_uscc"), ["uscc"], unique=False)
            batch_op.create_index(
                "ux_scoring_repair_applications_pending",
                ["uscc", "rule_code"],
                unique=True,
                sqlite_where=sa.text("state = 'PENDING'"),
                postgresql_where=sa.text("state = 'PENDING'"),
            )
            batch_op.create_index(
                "ux_scoring_repair_applications_request",
                ["uscc", "request_id"],
                unique=True,
                sqlite_where=sa.text("request_id != ''"),
                postgresql_where=sa.text("request_id != ''"),
            )


def downgrade() -> None:
    with op.batch_alter_table("scoring_repair_applications", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_scoring_repair_applications_request",
            sqlite_where=sa.text("request_id != ''"),
            postgresql_where=sa.text("request_id != ''"),
        )
        batch_op.drop_index(
            "ux_scoring_repair_applications_pending",
            sqlite_where=sa.text("state = 'PENDING'"),
            postgresql_where=sa.text("state = 'PENDING'"),
        )
        batch_op.drop_index(batch_op.f("ix_scoring_repair_applications_uscc"))
        batch_op.drop_index(batch_op.f("ix_scoring_repair_applications_request_id"))
        batch_op.drop_index(batch_op.f("ix_scoring_repair_applications_created_at"))

    op.drop_table("scoring_repair_applications")
    with op.batch_alter_table("scoring_override_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoring_override_reviews_appeal_id"))

    op.drop_table("scoring_override_reviews")
    with op.batch_alter_table("scoring_dishonesty_listings", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_scoring_dishonesty_listings_request",
            sqlite_where=sa.text("request_id != ''"),
            postgresql_where=sa.text("request_id != ''"),
        )
        batch_op.drop_index(
            "ux_scoring_dishonesty_listings_active",
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_scoring_dishonesty_listings_uscc"))
        batch_op.drop_index(batch_op.f("ix_scoring_dishonesty_listings_request_id"))
        batch_op.drop_index(batch_op.f("ix_scoring_dishonesty_listings_listed_at"))

    op.drop_table("scoring_dishonesty_listings")
