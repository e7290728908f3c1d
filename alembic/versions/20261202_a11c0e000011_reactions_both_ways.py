"""message.business_reaction: the emoji the business reacted to a message with ("" none)

Revision ID: a11c0e000011
Revises: a11c0e000010
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a11c0e000011'
down_revision: str | Sequence[str] | None = 'a11c0e000010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table copy: other tables reference message)
    op.add_column(
        'message',
        sa.Column('business_reaction', sa.String(length=16), nullable=False, server_default=''),
    )


def downgrade() -> None:
    op.drop_column('message', 'business_reaction')
