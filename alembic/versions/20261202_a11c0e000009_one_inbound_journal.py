"""SMS on the one journal: SMS webhook events in flight take the states every event uses.

Before, an SMS event waiting for processing was "sms_pending" or "sms_retry" (so the WhatsApp
processor would not take it); the one processor (ctreflex/inbound/) now takes every provider's
"pending" and "retry" events. Data only, no schema change.

Revision ID: a11c0e000009
Revises: a11c0e000008
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a11c0e000009'
down_revision: str | Sequence[str] | None = 'a11c0e000008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMES = (("sms_pending", "pending"), ("sms_retry", "retry"))


def _move(old: str, new: str) -> None:
    op.execute(
        sa.text("UPDATE webhookevent SET state = :new WHERE provider = 'sms' AND state = :old")
        .bindparams(old=old, new=new)
    )


def upgrade() -> None:
    for old, new in _RENAMES:
        _move(old, new)


def downgrade() -> None:
    for old, new in _RENAMES:
        _move(new, old)
