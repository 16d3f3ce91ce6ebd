"""Pull by scope: feed entries for everyone, and those reaching a device by its customer, indexed.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 09:00:00

A pull reads the changes it may see through one index per way a change reaches a device (its
visit, its addressee, everyone, its customer), so its cost follows what it returns, not how many other
engineers' changes the feed took since the device's cursor.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.create_index(
            'ix_sync_change_global_position',
            ['position'],
            unique=False,
            postgresql_where=sa.text('is_global'),
            sqlite_where=sa.text('is_global = 1'),
        )
        batch_op.create_index(
            'ix_sync_change_customer_position',
            ['customer_id', 'position'],
            unique=False,
            postgresql_where=sa.text('visit_id IS NULL'),
            sqlite_where=sa.text('visit_id IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_change_customer_position')
        batch_op.drop_index('ix_sync_change_global_position')
