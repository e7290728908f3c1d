"""public API: keys, idempotency records, outbound webhook endpoints and deliveries

Revision ID: a11c0e000004
Revises: a11c0e000003
Create Date: 2026-12-02 05:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import ctreflex.models._base  # noqa: F401

revision: str = 'a11c0e000004'
down_revision: str | Sequence[str] | None = 'a11c0e000003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
