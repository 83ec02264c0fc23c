"""complaint registry copy

Issue 14a: the complaints service keeps a copy of the registry (each enterprise's region) to match a
complaint to the enterprise it names. A database created by create_all before migrations existed may hold
the table already; it is kept (shared.migrations.missing).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:50:45.120442
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
    if missing("complaint_registry_copy"):
        op.create_table(
            "complaint_registry_copy",
            sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
            sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
            sa.PrimaryKeyConstraint("uscc"),
        )


def downgrade() -> None:
    op.drop_table("complaint_registry_copy")
