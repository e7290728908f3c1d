"""public API: keys, idempotency records, outbound webhook endpoints and deliveries

Revision ID: a11c0e000004
Revises: a11c0e000003
Create Date: 2026-12-02 05:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ctreflex.models._base  # noqa: F401

revision: str = 'a11c0e000004'
down_revision: str | Sequence[str] | None = 'a11c0e000003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhookendpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('events', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('secret_encrypted', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhookendpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookendpoint_account_id'), ['account_id'], unique=False)

    op.create_table('apikey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apikey_account_id'), ['account_id'], unique=False)

    op.create_table('webhookdelivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhookendpoint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('endpoint_id', 'event_key', name='uq_webhookdelivery_event')
    )
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookdelivery_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_webhookdelivery_endpoint_conv', ['endpoint_id', 'conversation_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhookdelivery_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index('ix_webhookdelivery_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('apiidempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['apikey.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('api_key_id', 'key', name='uq_apiidempotency_key')
    )
    with op.batch_alter_table('apiidempotency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apiidempotency_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apiidempotency_created_at'), ['created_at'], unique=False)

    op.create_table('apiratewindow',
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['apikey.id'], ),
    sa.PrimaryKeyConstraint('api_key_id', 'window_start')
    )
    op.create_table('webhookattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhookdelivery.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhookattempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookattempt_delivery_id'), ['delivery_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhookattempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhookattempt_delivery_id'))

    op.drop_table('webhookattempt')
    op.drop_table('apiratewindow')
    with op.batch_alter_table('apiidempotency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apiidempotency_created_at'))
        batch_op.drop_index(batch_op.f('ix_apiidempotency_api_key_id'))

    op.drop_table('apiidempotency')
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhookdelivery_state_next')
        batch_op.drop_index(batch_op.f('ix_webhookdelivery_endpoint_id'))
        batch_op.drop_index('ix_webhookdelivery_endpoint_conv')
        batch_op.drop_index(batch_op.f('ix_webhookdelivery_account_id'))

    op.drop_table('webhookdelivery')
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apikey_account_id'))

    op.drop_table('apikey')
    with op.batch_alter_table('webhookendpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhookendpoint_account_id'))

    op.drop_table('webhookendpoint')
