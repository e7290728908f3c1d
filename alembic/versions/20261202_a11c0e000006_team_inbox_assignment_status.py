"""Reserved slot: team-a (assignment, status, snooze, work queue). Filled by its owner or removed before release.

Revision ID: a11c0e000006
Revises: a11c0e000005
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

revision: str = 'a11c0e000006'
down_revision: str | Sequence[str] | None = 'a11c0e000005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
