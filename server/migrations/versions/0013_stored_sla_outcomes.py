"""Stored SLA outcomes: each request's settled phone, on-site and remote-login result;
visits indexed by when they finished (reports).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 22:15:00

Existing requests keep NULL (read on the fly by the reports, which stays correct);
`onsite store-sla` (or `flask store-sla`) fills them in once.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_phone', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sla_onsite', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sla_remote', sa.String(length=16), nullable=True))
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_finished_at', ['finished_at'], unique=False)


def downgrade():
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_finished_at')
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_column('sla_remote')
        batch_op.drop_column('sla_onsite')
        batch_op.drop_column('sla_phone')
