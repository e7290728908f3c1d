"""contact.search_key: name and profile name folded (lower case, no accents) for search

Revision ID: a11c0e000005
Revises: a11c0e000004
Create Date: 2026-12-02 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ctreflex.models.contact import contact_search_key

revision: str = 'a11c0e000005'
down_revision: str | Sequence[str] | None = 'a11c0e000004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'search_key',
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=False,
                server_default='',
            )
        )
    # Fill the key of existing contacts (the app keeps it in step from now on).
    bind = op.get_bind()
    contact = sa.table(
        'contact',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('profile_name', sa.String),
        sa.column('search_key', sa.String),
    )
    rows = bind.execute(sa.select(contact.c.id, contact.c.name, contact.c.profile_name)).all()
    for row in rows:
        bind.execute(
            contact.update()
            .where(contact.c.id == row.id)
            .values(search_key=contact_search_key(row.name, row.profile_name))
        )
    # The empty server default stays: dropping it would make SQLite copy the table, and the
    # copy cannot drop `contact` while messages and conversations refer to it.


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of `contact` would fail on the
    # rows that refer to it.
    op.execute('ALTER TABLE contact DROP COLUMN search_key')
