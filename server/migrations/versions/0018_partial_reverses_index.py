"""One correction per part event, kept by a partial unique index (corrections only).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 13:55:00

The unique constraint on `part_event.reverses_id` indexed every part event, nearly all with
NULL there. Pricing a visit asks for its events that are not corrections (`reverses_id IS
NULL`), and a planner without statistics for the table (autovacuum off, or before its first
analyze) matched that test to the index and read the NULLs of the whole table on every push:
its cost grew with the year's part events. The partial index holds only corrections, cannot
serve that test, and keeps the same rule.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NOT_NULL = sa.text("reverses_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table("part_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_part_event_reverses_id", type_="unique")
    with op.batch_alter_table("part_event", schema=None) as batch_op:
        batch_op.create_index(
            "uq_part_event_reverses_id",
            ["reverses_id"],
            unique=True,
            postgresql_where=NOT_NULL,
            sqlite_where=NOT_NULL,
        )


def downgrade():
    with op.batch_alter_table("part_event", schema=None) as batch_op:
        batch_op.drop_index("uq_part_event_reverses_id")
    with op.batch_alter_table("part_event", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_part_event_reverses_id", ["reverses_id"])
