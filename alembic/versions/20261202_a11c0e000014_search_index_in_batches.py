"""The message-text index (SQLite's FTS5 `message_fts`) filled a batch at a time by the inbound
fast path instead of a row at a time by the INSERT trigger (issue 17, processing CPU)

FTS5 fed by the AFTER INSERT trigger costs about four times what one
`INSERT INTO message_fts ... SELECT ... FROM message WHERE id BETWEEN ...` costs for the same
rows (docs/PERFORMANCE.md, "Issue 17: the text index in batches"). The fast path therefore puts
a row in `message_fts_deferred` inside its transaction, inserts its messages, indexes them with
one statement and deletes the row before it commits: the trigger (WHEN NOT EXISTS that row)
skips those messages only, and only in that transaction (no other connection ever sees the row:
it is never committed). Every other writer (the ORM, raw SQL, another process) still goes
through the trigger, so the index stays complete whoever writes. PostgreSQL: nothing (its GIN
index is kept by PostgreSQL itself).

A later migration that copies `message` (a batch ALTER on SQLite) drops the triggers with the
old table: it must create them again, a11c0e000012's delete and update triggers and
`INSERT_TRIGGER` below in place of its insert trigger.

Revision ID: a11c0e000014
Revises: a11c0e000012
Create Date: 2026-12-02 15:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'a11c0e000014'
down_revision: str | Sequence[str] | None = 'a11c0e000012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSERT_TRIGGER = """CREATE TRIGGER message_fts_ai AFTER INSERT ON message
     WHEN NOT EXISTS (SELECT 1 FROM message_fts_deferred) BEGIN
       INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
     END"""
OLD_INSERT_TRIGGER = """CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN
     INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
   END"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute('CREATE TABLE message_fts_deferred (id INTEGER PRIMARY KEY)')
    op.execute('DROP TRIGGER IF EXISTS message_fts_ai')
    op.execute(INSERT_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute('DROP TRIGGER IF EXISTS message_fts_ai')
    op.execute(OLD_INSERT_TRIGGER)
    op.execute('DROP TABLE IF EXISTS message_fts_deferred')
