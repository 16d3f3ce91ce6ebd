"""Finance guards (one live handover per receipt, day versions); promises, transfers, statements.

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-30 21:30:00

"""
from alembic import op
import sqlalchemy as sa
import server.db_types

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('finance_handover_receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_payment_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_finance_handover_receipt_live_payment_id'), ['live_payment_id'])
    # Receipts of live handovers are live; where history already has one receipt in two live
    # handovers, only the earliest handover holds it live (the later keeps the row as history).
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
    op.create_table('payment_promise',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('payer', sa.String(length=120), nullable=False),
    sa.Column('due_on', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('op_id', sa.String(length=36), nullable=False),
    sa.Column('hlc', sa.String(length=80), nullable=False),
    sa.Column('device_time', sa.String(length=40), nullable=True),
    sa.Column('received_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_promise_amount_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_payment_promise_user_id_user_account')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_payment_promise_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_promise'))
    )
    with op.batch_alter_table('payment_promise', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_promise_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_promise_visit_id'), ['visit_id'], unique=False)
    op.create_table('finance_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('promise_id', sa.String(length=36), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_finance_transfer_amount_positive')),
    sa.ForeignKeyConstraint(['promise_id'], ['payment_promise.id'], name=op.f('fk_finance_transfer_promise_id_payment_promise')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_finance_transfer_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_finance_transfer_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_transfer'))
    )
    with op.batch_alter_table('finance_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_transfer_promise_id'), ['promise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_transfer_visit_id'), ['visit_id'], unique=False)
    op.create_table('finance_statement_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=False),
    sa.Column('imported_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['user_account.id'], name=op.f('fk_finance_statement_import_imported_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_statement_import'))
    )
    op.create_table('finance_statement_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('payer', sa.String(length=120), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('payment_id', sa.String(length=36), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', server.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_finance_statement_entry_amount_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_finance_statement_entry_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_finance_statement_entry_payment_id_payment')),
    sa.ForeignKeyConstraint(['statement_id'], ['finance_statement_import.id'], name=op.f('fk_finance_statement_entry_statement_id_finance_statement_import')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_statement_entry')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_finance_statement_entry_payment_id'))
    )
    with op.batch_alter_table('finance_statement_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_statement_entry_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_statement_entry_statement_id'), ['statement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('finance_statement_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_statement_entry_statement_id'))
        batch_op.drop_index(batch_op.f('ix_finance_statement_entry_day'))
    op.drop_table('finance_statement_entry')
    op.drop_table('finance_statement_import')
    with op.batch_alter_table('finance_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_transfer_visit_id'))
        batch_op.drop_index(batch_op.f('ix_finance_transfer_promise_id'))
    op.drop_table('finance_transfer')
    with op.batch_alter_table('payment_promise', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_promise_visit_id'))
        batch_op.drop_index(batch_op.f('ix_payment_promise_due_on'))
    op.drop_table('payment_promise')
    with op.batch_alter_table('finance_day_reconciliation', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('finance_handover_receipt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_finance_handover_receipt_live_payment_id'), type_='unique')
        batch_op.drop_column('live_payment_id')
