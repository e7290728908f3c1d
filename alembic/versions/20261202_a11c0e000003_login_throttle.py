"""login throttling by account and client address

Revision ID: a11c0e000003
Revises: a11c0e000002
Create Date: 2026-12-02 05:00:00

The old per-e-mail lock table is replaced by counters keyed by (kind, key) — "email", "ip" or
"pair" and a SHA-256 of the value — with a window. Old counters are dropped: they only slowed
logins down.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ctreflex.models._base

revision: str = 'a11c0e000003'
down_revision: str | Sequence[str] | None = 'a11c0e000002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table('loginthrottle')
    op.create_table(
        'loginthrottle',
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            'last_failure_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column('blocked_until', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('kind', 'key'),
    )
    op.create_index(
        'ix_loginthrottle_last_failure_at', 'loginthrottle', ['last_failure_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_loginthrottle_last_failure_at', table_name='loginthrottle')
    op.drop_table('loginthrottle')
    op.create_table(
        'loginthrottle',
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column(
            'last_failure_at', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column('locked_until', ctreflex.models._base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('email'),
    )
