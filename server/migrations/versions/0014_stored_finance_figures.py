"""Stored finance figures: each visit's owed amount, price flags and business day; each day's
verdict since it was locked; flagged visits, returned parts and the review and call-back queues
indexed for their queues.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:00:00

Existing visits keep NULL (the pages price those on the fly, and the overview computes the
whole year while any is NULL, which stays correct) and existing locked days have no verdict (the
overview computes them); `onsite store-finance` (run by `onsite upgrade` and `onsite run`) fills
both in once, with the check rows of the days money is on.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

FLAGGED = "escalate IS true OR status = 'not_fixed'"
REVIEW_QUEUE = "reviewed_at IS NULL AND finished_at IS NOT NULL"
CALLBACK_QUEUE = "called_back_at IS NULL AND finished_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owed_fen', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('charge_flags', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('business_day', sa.Date(), nullable=True))
        batch_op.create_index('ix_visit_business_day', ['business_day', 'engineer_id'], unique=False)
        batch_op.drop_index('ix_visit_review_queue')
        batch_op.drop_index('ix_visit_callback_queue')
        for name, where in (
            ('ix_visit_review_queue', REVIEW_QUEUE),
            ('ix_visit_callback_queue', CALLBACK_QUEUE),
        ):
            batch_op.create_index(
                name,
                ['finished_at', 'id'],
                unique=False,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )
        batch_op.create_index(
            'ix_visit_flagged',
            ['id'],
            unique=False,
            postgresql_where=sa.text(FLAGGED),
            sqlite_where=sa.text(FLAGGED),
        )
    with op.batch_alter_table('part_event', schema=None) as batch_op:
        batch_op.create_index(
            'ix_part_event_returned',
            ['received_at'],
            unique=False,
            postgresql_where=sa.text("kind = 'returned'"),
        )
    op.create_table(
        'finance_day_check',
        sa.Column('engineer_id', sa.Integer(), nullable=False),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('needs_attention', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['engineer_id'], ['user_account.id'], name=op.f('fk_finance_day_check_engineer_id_user_account')),
        sa.PrimaryKeyConstraint('engineer_id', 'business_day', name=op.f('pk_finance_day_check')),
    )
    with op.batch_alter_table('finance_day_check', schema=None) as batch_op:
        batch_op.create_index(
            'ix_finance_day_check_open',
            ['business_day'],
            unique=False,
            postgresql_where=sa.text('needs_attention IS NOT false'),
            sqlite_where=sa.text('needs_attention IS NOT 0'),
        )
    # Every day a clerk decided on has its check row; locked ones with no verdict yet.
    op.execute(
        "INSERT INTO finance_day_check (engineer_id, business_day) "
        "SELECT engineer_id, business_day FROM finance_day_reconciliation"
    )


def downgrade():
    with op.batch_alter_table('part_event', schema=None) as batch_op:
        batch_op.drop_index('ix_part_event_returned')
    with op.batch_alter_table('finance_day_check', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_day_check_open')
    op.drop_table('finance_day_check')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_callback_queue')
        batch_op.drop_index('ix_visit_review_queue')
        batch_op.create_index('ix_visit_review_queue', ['reviewed_at', 'finished_at'], unique=False)
        batch_op.create_index('ix_visit_callback_queue', ['called_back_at', 'finished_at'], unique=False)
        batch_op.drop_index('ix_visit_flagged')
        batch_op.drop_index('ix_visit_business_day')
        batch_op.drop_column('business_day')
        batch_op.drop_column('charge_flags')
        batch_op.drop_column('owed_fen')
