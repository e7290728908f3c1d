"""The team's own layer on a conversation (issue 15): internal notes and their @mentions,
labels, and the account's canned replies. None of it ever reaches a customer: a note is not a
Message, so no send path (UI, outbox retry, resend as SMS, the public API) can address one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ctreflex.models._base import UTCDateTime, utc_now


class Note(SQLModel, table=True):
    """An internal note in a conversation's thread, seen only by the account's users."""

    __table_args__ = (Index("ix_note_conversation_created", "conversation_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    body: str = Field(default="")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Mention(SQLModel, table=True):
    """A user named with @ in a note; unread until that user opens the conversation."""

    __table_args__ = (
        UniqueConstraint("note_id", "user_id", name="uq_mention_note_user"),
        Index("ix_mention_user_read", "user_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    note_id: int = Field(foreign_key="note.id")
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Label(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_label_account_name"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=40)
    color: str = Field(default="gray", max_length=16, description="A Radix colour name")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ConversationLabel(SQLModel, table=True):
    __table_args__ = (
        Index("ix_conversationlabel_label", "label_id"),
        # the list's label chips: its rows' labels, within the account (a11c0e000012)
        Index("ix_conversationlabel_account_conversation", "account_id", "conversation_id"),
    )

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    label_id: int = Field(foreign_key="label.id", primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class CannedReply(SQLModel, table=True):
    """A snippet agents insert by typing its shortcut (`/hours`) in the composer."""

    __table_args__ = (
        UniqueConstraint("account_id", "shortcut", name="uq_cannedreply_account_shortcut"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    shortcut: str = Field(max_length=32, description="Without the slash: hours")
    body: str = Field(default="")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
