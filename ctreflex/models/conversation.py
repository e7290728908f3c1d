"""Conversations, messages and media."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ctreflex.models._base import StrEnum, UTCDateTime, utc_now


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class MessageStatus(StrEnum):
    pending = "pending"  # stored, the request to the provider under way
    queued = "queued"  # the provider refused for now (rate limit, outage): the outbox retries it
    unconfirmed = "unconfirmed"  # the request may have reached the provider (timeout): never
    # sent again on its own; a status webhook carrying its callback id reconciles it
    accepted = "accepted"  # provider answered 200 with an id
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"
    received = "received"  # inbound


#: Search and order objects migration a11c0e000012 makes for one dialect only, outside the
#: metadata (alembic/env.py leaves them alone): SQLite's FTS5 table `message_fts` (and its
#: shadow tables), PostgreSQL's trigram indexes on lower(message.body) and contact.search_key,
#: and the list's order
#: (account_id, last_message_at DESC NULLS LAST, id DESC).
DIALECT_OBJECTS = (
    "message_fts",
    "ix_message_body_trgm",
    "ix_contact_search_trgm",
    "ix_conversation_account_recent",
)

STATUS_RANK = {"pending": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4}


class Conversation(SQLModel, table=True):
    """One conversation per customer and account, across channels."""

    __table_args__ = (
        UniqueConstraint("account_id", "contact_id", name="uq_conversation_account_contact"),
        Index("ix_conversation_account_last", "account_id", "last_message_at"),
        # the list's counts from the index alone (migration a11c0e000012)
        Index(
            "ix_conversation_account_status",
            "account_id",
            "status",
            "snoozed_until",
            "assignee_id",  # the Mine and Unassigned views' counts too
        ),
        Index("ix_conversation_account_unread", "account_id", "unread_count"),
        Index("ix_conversation_account_window", "account_id", "window_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    business_number_id: int | None = Field(default=None, foreign_key="businessnumber.id")
    channel: str = Field(default="whatsapp", max_length=16, description="Channel of the next send")
    last_message_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_inbound_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_preview: str = Field(default="", max_length=200)
    unread_count: int = 0
    assignee_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    # team inbox (services/assignment.py, services/status.py): open | snoozed | resolved; a
    # snoozed conversation counts as open again once snoozed_until has passed
    status: str = Field(
        default="open", max_length=16, sa_column_kwargs={"server_default": "open"}
    )
    snoozed_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_for: dt.datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="window end its T-60 reminder was for"
    )


class MediaFile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16, description="image, video, document")
    mime_type: str = Field(max_length=128)
    size: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    filename: str = Field(default="", max_length=255)
    storage_path: str = Field(default="", max_length=512)
    provider_media_id: str | None = Field(default=None, max_length=64, index=True)
    state: str = Field(default="ready", max_length=16, description="pending, ready, failed")
    fetch_error: str = Field(default="")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    __table_args__ = (
        # the thread's keyset paging: (created_at, id) within a conversation
        Index("ix_message_conversation_created", "conversation_id", "created_at", "id"),
        Index("ix_message_status_next_attempt", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    business_number_id: int | None = Field(default=None, foreign_key="businessnumber.id")
    direction: str = Field(max_length=8)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16, description="text, image, video, document, template, …")
    body: str = Field(default="")
    media_id: int | None = Field(default=None, foreign_key="mediafile.id")
    template_id: int | None = Field(default=None, foreign_key="template.id")
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    provider_message_id: str | None = Field(default=None, unique=True, max_length=128)
    status: str = Field(default=MessageStatus.pending.value, max_length=16)
    error_code: int | None = None
    error_title: str = Field(default="", max_length=255)
    error_detail: str = Field(default="")
    reply_to_id: int | None = Field(default=None, foreign_key="message.id")
    reply_to_provider_id: str | None = Field(default=None, max_length=128, index=True)
    reaction: str = Field(default="", max_length=16, description="Customer's reaction to it")
    business_reaction: str = Field(
        default="",
        max_length=16,
        sa_column_kwargs={"server_default": ""},
        description="The business's reaction to it (services/reactions.py)",
    )
    sender_user_id: int | None = Field(default=None, foreign_key="user.id")
    pricing_category: str = Field(default="", max_length=32)
    billable: bool | None = None
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # sends (services/outbound.py): the callback id Meta echoes in status webhooks
    # (biz_opaque_callback_data), the outbox's attempts and next try, the last retryable error
    callback_id: str | None = Field(default=None, unique=True, max_length=64)
    send_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_column_kwargs={"server_default": ""})
