"""Office queues: when a visit finished, was reviewed and called back; the S6 fax call.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 21:10:00

"""

import sqlalchemy as sa
from alembic import op

import server.db_types

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def _time() -> server.db_types.UTCDateTime:
    return server.db_types.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", _time(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", _time(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("called_back_at", _time(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_visit_reviewed_by_id_user_account"),
            "user_account",
            ["reviewed_by_id"],
            ["id"],
        )
        batch_op.create_index("ix_visit_review_queue", ["reviewed_at", "finished_at"])
        batch_op.create_index("ix_visit_callback_queue", ["called_back_at", "finished_at"])

    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fax_call_at", _time(), nullable=True))
        batch_op.add_column(sa.Column("fax_call_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fax_call_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_service_request_fax_call_by_id_user_account"),
            "user_account",
            ["fax_call_by_id"],
            ["id"],
        )

    # Visits already over: their last change is the best guess of when they finished, and a
    # call back already recorded for the request after that counts for them.
    op.execute(
        "UPDATE visit SET finished_at = updated_at "
        "WHERE status IN ('completed', 'not_fixed') AND finished_at IS NULL"
    )
    op.execute(
        "UPDATE visit SET called_back_at = (SELECT MIN(c.called_at) FROM callback c "
        "WHERE c.request_id = visit.request_id AND c.called_at >= visit.finished_at) "
        "WHERE finished_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_service_request_fax_call_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("fax_call_note")
        batch_op.drop_column("fax_call_by_id")
        batch_op.drop_column("fax_call_at")

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_callback_queue")
        batch_op.drop_index("ix_visit_review_queue")
        batch_op.drop_constraint(
            batch_op.f("fk_visit_reviewed_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("called_back_at")
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("finished_at")
