"""guards and grade history as_of

Issue 13: the database settles concurrent requests: one PENDING appeal per enterprise, and a request id
names one appeal or one credit repair of an enterprise (partial unique indexes). A database written
before these guards may hold rows they forbid; the upgrade then stops, naming them, before it changes
anything. Issue 15: the dashboards' latest level changes come from an index on the grade history's as_of.

A database created by create_all before migrations existed may hold these indexes already; they are
skipped (shared.migrations.missing).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:50:45.168631
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import SchemaNotCurrent, missing

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, its columns, the rows it covers)
_GUARDS = [
    ("scoring_appeals", "ux_scoring_appeals_pending", ["uscc"], "state = 'PENDING'"),
    ("scoring_appeals", "ux_scoring_appeals_request", ["uscc", "request_id"], "request_id != ''"),
    (
        "scoring_credit_repairs",
        "ux_scoring_credit_repairs_request",
        ["uscc", "request_id"],
        "request_id != ''",
    ),
]
_AS_OF = ("scoring_grade_history", "ix_scoring_grade_history_as_of")


def _refuse_duplicates() -> None:
    if op.get_context().as_sql:
        return  # offline: SQL for a DBA, no rows to look at
    found = []
    for table, index, columns, where in _GUARDS:
        if not missing(table, index):
            continue
        named = ", ".join(columns)
        rows = op.get_bind().execute(
            sa.text(f"SELECT {named} FROM {table} WHERE {where} GROUP BY {named} HAVING COUNT(*) > 1")
        )
        found += [f"{table} ({index}): {' '.join(map(str, row))}" for row in rows.fetchall()[:20]]
    if found:
        raise SchemaNotCurrent(
            "scoring: revision 0003 cannot be applied: the database holds rows its guards forbid (two "
            "PENDING appeals of one enterprise, or one request_id used twice); decide all but one with the "
            "previous version, then upgrade again: " + "; ".join(found)
        )


def upgrade() -> None:
    _refuse_duplicates()
    for table, index, columns, where in _GUARDS:
        if missing(table, index):
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.create_index(
                    index, columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
                )
    if missing(*_AS_OF):
        with op.batch_alter_table(_AS_OF[0], schema=None) as batch_op:
            batch_op.create_index(_AS_OF[1], ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(_AS_OF[0], schema=None) as batch_op:
        batch_op.drop_index(_AS_OF[1])
    for table, index, _columns, where in reversed(_GUARDS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index, sqlite_where=sa.text(where), postgresql_where=sa.text(where))
