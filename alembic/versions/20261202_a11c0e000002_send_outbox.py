"""sends: unconfirmed state, callback data, durable outbox

Revision ID: a11c0e000002
Revises: a11c0e000001
Create Date: 2026-12-02 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import ctreflex.models._base

revision: str = 'a11c0e000002'
down_revision: str | Sequence[str] | None = 'a11c0e000001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('callback_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column('send_attempts', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column(
                'next_attempt_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                'last_attempt_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                'last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''
            )
        )
        batch_op.create_unique_constraint('uq_message_callback_id', ['callback_id'])
        batch_op.create_index(
            'ix_message_status_next_attempt', ['status', 'next_attempt_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status_next_attempt')
        batch_op.drop_constraint('uq_message_callback_id', type_='unique')
        batch_op.drop_column('last_error')
        batch_op.drop_column('last_attempt_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('send_attempts')
        batch_op.drop_column('callback_id')
