"""Sync at the edges: part and equipment-receipt columns as wide as the op limits allow.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 21:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Fixed figures, not sync.limits: a migration records the schema as it was on the day.
WIDENED = [
    ('part_event', 'part_code', 64, 100),
    ('part_event', 'description', 200, 2000),
    ('equipment_receipt', 'description', 400, 2000),
]


def upgrade():
    for table, column, old, new in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                existing_nullable=False,
            )


def downgrade():
    for table, column, old, new in reversed(WIDENED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                existing_nullable=False,
            )
