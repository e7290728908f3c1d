"""webhook events: dead letters, bounded retries

Revision ID: a11c0e000001
Revises: 2ee57c71ee24
Create Date: 2026-12-02 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import ctreflex.models._base  # noqa: F401

revision: str = 'a11c0e000001'
down_revision: str | Sequence[str] | None = '2ee57c71ee24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhookevent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_error_at", ctreflex.models._base.UTCDateTime(timezone=True), nullable=True
            )
        )
    # "failed" (after the retries) is now "dead": parked until an admin retries or discards it
    op.execute("UPDATE webhookevent SET state = 'dead' WHERE state = 'failed'")


def downgrade() -> None:
    op.execute(
        "UPDATE webhookevent SET state = 'failed' WHERE state IN ('dead', 'partial', 'discarded')"
    )
    with op.batch_alter_table("webhookevent", schema=None) as batch_op:
        batch_op.drop_column("last_error_at")
