"""schema of issue 14b

Issue 14b: the commitment of each plan's verifiable draw, and the draw's seed as a 64-bit integer. A
database created by create_all before migrations may hold the table already; it is kept
(shared.migrations.missing).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:30:23.774216
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared.migrations import missing

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("inspection_plan_commitments"):
        op.create_table(
            "inspection_plan_commitments",
            sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
            sa.Column("seed_commitment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("seed_salt", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("snapshot_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("public_inputs", sa.Text(), nullable=False),
            sa.Column("public_inputs_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("tag_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
            sa.Column("inspection_count", sa.Integer(), nullable=False),
            sa.Column("seed_chosen_by_caller", sa.Boolean(), nullable=False),
            sa.Column("reveal_time", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("plan_id"),
        )
    with op.batch_alter_table("inspection_plans", schema=None) as batch_op:
        batch_op.alter_column(
            "seed", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_plans", schema=None) as batch_op:
        batch_op.alter_column(
            "seed", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=False
        )

    op.drop_table("inspection_plan_commitments")
