"""The inbox at scale (issue 17): message-text search through FTS5 (SQLite) or pg_trgm
(PostgreSQL), and the indexes the list, its counts and the thread's keyset paging use

- message text: SQLite gets `message_fts`, an FTS5 table with the trigram tokenizer over
  message.body (external content: the text is not stored twice), kept in step by triggers
  on INSERT, UPDATE OF body and DELETE of message, so every write path (the ORM, the inbound
  fast path's bulk inserts, raw SQL) keeps it right; PostgreSQL gets a GIN trigram index on
  lower(body) (pg_trgm, a trusted extension), and one on contact.search_key for names. Both answer "contains this text" (3 characters
  or more) without reading every message.
- the thread's keyset paging walks (conversation_id, created_at, id);
- the list's counts: (account_id, status, snoozed_until, assignee_id) answers the status
  scope and the Mine / Unassigned views from the index alone, (account_id, unread_count) the unread count, (account_id, window_expires_at)
  the open and closing windows (and the "closing soonest" order's first part);
- the list's label chips: conversationlabel (account_id, conversation_id);
- PostgreSQL only: (account_id, last_message_at DESC NULLS LAST, id DESC), the list's order
  (SQLite walks ix_conversation_account_last backwards: its entries end with the rowid).

A later migration that copies `message` (a batch ALTER on SQLite) drops the triggers with the
old table: it must create them again (`fts_triggers` below).

Revision ID: a11c0e000012
Revises: a11c0e000011
Create Date: 2026-12-02 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a11c0e000012'
down_revision: str | Sequence[str] | None = 'a11c0e000011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_TRIGGERS = (
    """CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN
         INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
       END""",
    """CREATE TRIGGER message_fts_ad AFTER DELETE ON message BEGIN
         INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
       END""",
    """CREATE TRIGGER message_fts_au AFTER UPDATE OF body ON message BEGIN
         INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
         INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
       END""",
)


def fts_triggers() -> None:
    for sql in FTS_TRIGGERS:
        op.execute(sql)


def _trgm_schema() -> str:
    """pg_trgm, made once per database in `public` when there is one (a database holding
    several schemas, one per app or test run, shares it; dropping a schema keeps it), and
    the schema it lives in, to name its operator class whatever the search_path."""
    bind = op.get_bind()
    public = bind.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'"))
    where = ' SCHEMA public' if public.scalar() else ''
    op.execute(f'CREATE EXTENSION IF NOT EXISTS pg_trgm{where}')
    return bind.execute(
        sa.text(
            'SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace'
            " WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index('ix_message_conversation_created', table_name='message')
    op.create_index(
        'ix_message_conversation_created', 'message', ['conversation_id', 'created_at', 'id']
    )
    op.drop_index('ix_conversation_account_status', table_name='conversation')
    op.create_index(
        'ix_conversation_account_status',
        'conversation',
        ['account_id', 'status', 'snoozed_until', 'assignee_id'],
    )
    op.create_index(
        'ix_conversation_account_unread', 'conversation', ['account_id', 'unread_count']
    )
    op.create_index(
        'ix_conversation_account_window', 'conversation', ['account_id', 'window_expires_at']
    )
    op.create_index(
        'ix_conversationlabel_account_conversation',
        'conversationlabel',
        ['account_id', 'conversation_id'],
    )
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE message_fts USING fts5("
            "body, content='message', content_rowid='id', tokenize='trigram')"
        )
        fts_triggers()
        op.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
    else:
        schema = _trgm_schema()
        op.execute(
            'CREATE INDEX ix_message_body_trgm ON message '
            f'USING gin (lower(body) "{schema}".gin_trgm_ops)'
        )
        op.execute(
            'CREATE INDEX ix_contact_search_trgm ON contact '
            f'USING gin (search_key "{schema}".gin_trgm_ops)'
        )
        op.execute(
            'CREATE INDEX ix_conversation_account_recent ON conversation '
            '(account_id, last_message_at DESC NULLS LAST, id DESC)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('message_fts_ai', 'message_fts_ad', 'message_fts_au'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS message_fts')
    else:
        op.execute('DROP INDEX IF EXISTS ix_conversation_account_recent')
        op.execute('DROP INDEX IF EXISTS ix_message_body_trgm')
        op.execute('DROP INDEX IF EXISTS ix_contact_search_trgm')
        # pg_trgm stays: other databases' objects may use it, and it costs nothing unused
    op.drop_index('ix_conversationlabel_account_conversation', table_name='conversationlabel')
    op.drop_index('ix_conversation_account_window', table_name='conversation')
    op.drop_index('ix_conversation_account_unread', table_name='conversation')
    op.drop_index('ix_conversation_account_status', table_name='conversation')
    op.create_index('ix_conversation_account_status', 'conversation', ['account_id', 'status'])
    op.drop_index('ix_message_conversation_created', table_name='message')
    op.create_index(
        'ix_message_conversation_created', 'message', ['conversation_id', 'created_at']
    )
