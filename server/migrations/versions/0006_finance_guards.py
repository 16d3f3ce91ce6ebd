"""Finance guards: a receipt in at most one live handover; day reconciliations carry a version.

Revision ID: 0006
Revises: 0004b
Create Date: 2026-11-30 21:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('finance_handover_receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_payment_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_finance_handover_receipt_live_payment_id'), ['live_payment_id'])
    # Receipts of live handovers are live; where history already has one receipt in two live
    # handovers, only the earliest handover keeps it live (the later one shows it as covered twice).
    op.execute(
        """
        UPDATE finance_handover_receipt SET live_payment_id = payment_id
        WHERE handover_id = (
            SELECT MIN(r2.handover_id) FROM finance_handover_receipt r2
            JOIN finance_handover h ON h.id = r2.handover_id
            WHERE r2.payment_id = finance_handover_receipt.payment_id AND h.voided_at IS NULL
        )
        """
    )
    with op.batch_alter_table('finance_day_reconciliation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('finance_day_reconciliation', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('finance_handover_receipt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_finance_handover_receipt_live_payment_id'), type_='unique')
        batch_op.drop_column('live_payment_id')
