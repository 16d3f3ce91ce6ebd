"""Device: what the phone last reported of its unsent outbox.

Revision ID: 0004b
Revises: 0004
Create Date: 2026-11-30 21:20:00

"""
from alembic import op
import sqlalchemy as sa
import server.db_types

# revision identifiers, used by Alembic.
revision = '0004b'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbox_reported_at', server.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outbox_high_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outbox_unsent_ops', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outbox_unsent_payments', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('outbox_unsent_payments')
        batch_op.drop_column('outbox_unsent_ops')
        batch_op.drop_column('outbox_high_seq')
        batch_op.drop_column('outbox_reported_at')
