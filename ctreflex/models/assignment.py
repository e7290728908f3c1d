"""The team inbox's history of a conversation: assignments and status changes, each a line in
the thread ("Ada assigned this to Ben, 14:02") and the source of the live and webhook events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ctreflex.models._base import UTCDateTime, utc_now


class ConversationEvent(SQLModel, table=True):
    """One change of a conversation's assignee or status (or a T-60 reminder sent to its
    assignee, kind "reminder", which the thread does not show)."""

    __table_args__ = (
        Index("ix_conversationevent_conversation_created", "conversation_id", "created_at"),
        Index("ix_conversationevent_target_kind", "target_user_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    # assigned, unassigned, snoozed, resolved, reopened, reminder
    kind: str = Field(max_length=16)
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    # who acted when no user did: "API key “CRM”", "" for the app itself (a snooze ending)
    actor_label: str = Field(default="", max_length=120)
    target_user_id: int | None = Field(default=None, foreign_key="user.id")
    # why: "reply" (assigned by replying), "customer" (reopened by a customer message),
    # "snooze_ended"; a snooze's end time
    reason: str = Field(default="", max_length=32)
    until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
