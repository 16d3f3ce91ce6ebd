"""Stored first-time-fix verdicts: one row per request whose first repair visit is over (S19).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:40:00

The table starts empty; `onsite upgrade` (and `onsite run`) then decides every request that
has a finished repair visit and no verdict yet (`first_fix_store.store_all`), and from then on
each verdict is written in the transaction that changes one of its inputs.
"""

import sqlalchemy as sa
from alembic import op

import server.db_types

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "request_first_fix",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("first_at", server.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_first_fix_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_first_fix")),
    )


def downgrade():
    op.drop_table("request_first_fix")
