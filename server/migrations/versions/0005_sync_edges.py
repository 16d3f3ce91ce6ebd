"""Sync at the edges: op columns as wide as the op limits; reassignment notices; lost blobs.

Revision ID: 0005
Revises: 0004b
Create Date: 2026-11-30 21:30:00

"""
from alembic import op
import sqlalchemy as sa
import server.db_types

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004b'
branch_labels = None
depends_on = None

# Fixed figures, not sync.limits: a migration records the schema as it was on the day.
WIDENED = [
    ('part_event', 'part_code', 64, 100),
    ('part_event', 'description', 200, 2000),
    ('equipment_receipt', 'description', 400, 2000),
]


def upgrade():
    op.create_table('revoke_notice',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('heard_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_revoke_notice_device_id_device')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_revoke_notice_visit_id_visit')),
    sa.PrimaryKeyConstraint('device_id', 'visit_id', name=op.f('pk_revoke_notice'))
    )
    op.create_table('blob_loss',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_blob_loss_device_id_device')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blob_loss'))
    )
    for table, column, old, new in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                existing_nullable=False,
            )


def downgrade():
    op.drop_table('revoke_notice')
    op.drop_table('blob_loss')
    for table, column, old, new in reversed(WIDENED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                existing_nullable=False,
            )
