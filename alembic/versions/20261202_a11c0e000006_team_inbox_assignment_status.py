"""Team inbox (team-a): conversation status and snooze, the T-60 reminder mark, the account's
auto-assign setting, the user's reminder opt-in, and the conversation event history.

Revision ID: a11c0e000006
Revises: a11c0e000005
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ctreflex.models._base

revision: str = 'a11c0e000006'
down_revision: str | Sequence[str] | None = 'a11c0e000005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: other tables refer to conversation, account and user).
    op.add_column(
        'conversation',
        sa.Column(
            'status',
            sqlmodel.sql.sqltypes.AutoString(length=16),
            nullable=False,
            server_default='open',
        ),
    )
    op.add_column(
        'conversation',
        sa.Column('snoozed_until', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        'conversation',
        sa.Column('reminded_for', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        'ix_conversation_account_status', 'conversation', ['account_id', 'status'], unique=False
    )
    op.add_column(
        'account',
        sa.Column('auto_assign_on_reply', sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        'user',
        sa.Column('window_reminders', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        'conversationevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('target_user_id', sa.Integer(), nullable=True),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('until', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['actor_user_id'], ['user.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['target_user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        op.f('ix_conversationevent_account_id'), 'conversationevent', ['account_id'], unique=False
    )
    op.create_index(
        'ix_conversationevent_conversation_created',
        'conversationevent',
        ['conversation_id', 'created_at'],
        unique=False,
    )
    op.create_index(
        'ix_conversationevent_target_kind',
        'conversationevent',
        ['target_user_id', 'kind'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_conversationevent_target_kind', table_name='conversationevent')
    op.drop_index('ix_conversationevent_conversation_created', table_name='conversationevent')
    op.drop_index(op.f('ix_conversationevent_account_id'), table_name='conversationevent')
    op.drop_table('conversationevent')
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), never a batch copy of a referenced table.
    op.execute('ALTER TABLE "user" DROP COLUMN window_reminders')
    op.execute('ALTER TABLE account DROP COLUMN auto_assign_on_reply')
    op.drop_index('ix_conversation_account_status', table_name='conversation')
    op.execute('ALTER TABLE conversation DROP COLUMN reminded_for')
    op.execute('ALTER TABLE conversation DROP COLUMN snoozed_until')
    op.execute('ALTER TABLE conversation DROP COLUMN status')
