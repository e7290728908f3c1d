"""team inbox: internal notes and @mentions, labels, canned replies

Revision ID: a11c0e000007
Revises: a11c0e000006
Create Date: 2026-12-02 08:00:00

New tables only (nothing existing is copied or altered): note, mention, label,
conversationlabel, cannedreply.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ctreflex.models._base

revision: str = 'a11c0e000007'
down_revision: str | Sequence[str] | None = 'a11c0e000006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = ctreflex.models._base.UTCDateTime
Str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=True),
        sa.Column('body', Str(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['author_user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_note_account_id', 'note', ['account_id'])
    op.create_index('ix_note_conversation_created', 'note', ['conversation_id', 'created_at'])
    op.create_table(
        'mention',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('note_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('read_at', UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['note_id'], ['note.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('note_id', 'user_id', name='uq_mention_note_user'),
    )
    op.create_index('ix_mention_account_id', 'mention', ['account_id'])
    op.create_index('ix_mention_conversation_id', 'mention', ['conversation_id'])
    op.create_index('ix_mention_user_read', 'mention', ['user_id', 'read_at'])
    op.create_table(
        'label',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('name', Str(length=40), nullable=False),
        sa.Column('color', Str(length=16), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'name', name='uq_label_account_name'),
    )
    op.create_index('ix_label_account_id', 'label', ['account_id'])
    op.create_table(
        'conversationlabel',
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('label_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
        sa.ForeignKeyConstraint(['label_id'], ['label.id']),
        sa.PrimaryKeyConstraint('conversation_id', 'label_id'),
    )
    op.create_index('ix_conversationlabel_account_id', 'conversationlabel', ['account_id'])
    op.create_index('ix_conversationlabel_label', 'conversationlabel', ['label_id'])
    op.create_table(
        'cannedreply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('shortcut', Str(length=32), nullable=False),
        sa.Column('body', Str(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('updated_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'shortcut', name='uq_cannedreply_account_shortcut'),
    )
    op.create_index('ix_cannedreply_account_id', 'cannedreply', ['account_id'])


def downgrade() -> None:
    op.drop_index('ix_cannedreply_account_id', table_name='cannedreply')
    op.drop_table('cannedreply')
    op.drop_index('ix_conversationlabel_label', table_name='conversationlabel')
    op.drop_index('ix_conversationlabel_account_id', table_name='conversationlabel')
    op.drop_table('conversationlabel')
    op.drop_index('ix_label_account_id', table_name='label')
    op.drop_table('label')
    op.drop_index('ix_mention_user_read', table_name='mention')
    op.drop_index('ix_mention_conversation_id', table_name='mention')
    op.drop_index('ix_mention_account_id', table_name='mention')
    op.drop_table('mention')
    op.drop_index('ix_note_conversation_created', table_name='note')
    op.drop_index('ix_note_account_id', table_name='note')
    op.drop_table('note')
