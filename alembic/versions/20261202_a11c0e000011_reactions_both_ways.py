"""Reserved slot: lead (business reactions). Filled by its owner or removed before release.

Revision ID: a11c0e000011
Revises: a11c0e000010
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

revision: str = 'a11c0e000011'
down_revision: str | Sequence[str] | None = 'a11c0e000010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
