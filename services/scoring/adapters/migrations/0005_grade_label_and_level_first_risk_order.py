"""Grades record the policy's label; risk lists order by level (D first), then probability (issue 11)

Grades made before this revision predicted any violation, so they are labelled `non_compliant`; the next
recompute (or the next event of each enterprise) grades them again under the policy in force. The risk
order index now starts with the level, descending, and the probability-only index is no longer read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:55:41
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PREVIOUS_LABEL = "non_compliant"  # what policy-v2 and earlier predicted


def upgrade() -> None:
    for table in ("scoring_grade_history", "scoring_grades"):
        if missing(table, column="label"):
            op.add_column(
                table,
                sa.Column("label", sa.String(length=32), nullable=False, server_default=_PREVIOUS_LABEL),
            )
    if not missing("scoring_grades", "ix_scoring_grades_risk_order"):
        op.drop_index("ix_scoring_grades_risk_order", table_name="scoring_grades")
    op.drop_index("ix_scoring_grades_level_risk_order", table_name="scoring_grades")
    op.create_index(
        "ix_scoring_grades_level_risk_order",
        "scoring_grades",
        [sa.literal_column("level DESC"), sa.literal_column("violation_probability DESC"), "uscc"],
    )


def downgrade() -> None:
    op.drop_index("ix_scoring_grades_level_risk_order", table_name="scoring_grades")
    op.create_index(
        "ix_scoring_grades_level_risk_order",
        "scoring_grades",
        ["level", sa.literal_column("violation_probability DESC"), "uscc"],
    )
    op.create_index(
        "ix_scoring_grades_risk_order",
        "scoring_grades",
        [sa.literal_column("violation_probability DESC"), "uscc"],
    )
    for table in ("scoring_grades", "scoring_grade_history"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("label")
