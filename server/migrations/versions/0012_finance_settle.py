"""Finance: a confirmed statement line is a handover; transfers can be voided.

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-30 22:10:00

"""
from alembic import op
import sqlalchemy as sa
import server.db_types

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('finance_handover', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_entry_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_finance_handover_statement_entry_id'), ['statement_entry_id'])
        batch_op.create_foreign_key(batch_op.f('fk_finance_handover_statement_entry_id_finance_statement_entry'), 'finance_statement_entry', ['statement_entry_id'], ['id'])
    with op.batch_alter_table('finance_transfer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', server.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_finance_transfer_voided_by_id_user_account'), 'user_account', ['voided_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('finance_transfer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_finance_transfer_voided_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
    with op.batch_alter_table('finance_handover', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_finance_handover_statement_entry_id_finance_statement_entry'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_finance_handover_statement_entry_id'), type_='unique')
        batch_op.drop_column('statement_entry_id')
