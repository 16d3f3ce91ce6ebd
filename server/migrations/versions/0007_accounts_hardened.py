"""Accounts hardened: server-side browser sessions, sign-in throttles, security audit,
password change at next sign-in, why a device's sign-in ended.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:30:00

"""
from alembic import op
import sqlalchemy as sa
import server.db_types
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'web_session',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_web_session_user_id_user_account')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_session')),
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_user_id'), ['user_id'], unique=False)
    op.create_table(
        'sign_in_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', server.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', server.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttle')),
        sa.UniqueConstraint('scope', 'key', name=op.f('uq_sign_in_throttle_scope_key')),
    )
    op.create_table(
        'security_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', server.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_security_audit_actor_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_audit')),
    )
    with op.batch_alter_table('security_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_audit_at'), ['at'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('security_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_audit_at'))
    op.drop_table('security_audit')
    op.drop_table('sign_in_throttle')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_user_id'))
    op.drop_table('web_session')
