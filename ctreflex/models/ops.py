"""The webhook journal, usage records and their daily roll-up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ctreflex.models._base import StrEnum, UTCDateTime, utc_now


class EventState(StrEnum):
    """Where a journaled webhook is. Due: pending, retry (at next_attempt_at). Final: the rest;
    dead and rejected (and partial) wait for an admin's Retry or Discard."""

    PENDING = "pending"
    RETRY = "retry"  # failed or waiting for something; tried again at next_attempt_at
    DONE = "done"
    PARTIAL = "partial"  # processed, with parts refused or malformed (described in `error`)
    REJECTED = "rejected"  # bad body, or refused for its account (unknown number, plan, WABA)
    UNHANDLED = "unhandled"  # a kind of change nobody handles; kept as received
    DEAD = "dead"  # failed every bounded retry; parked with its reason
    DISCARDED = "discarded"  # an admin or the operator dismissed it


class WebhookEvent(SQLModel, table=True):
    """Every webhook body exactly as received, written before the 200 is sent."""

    __table_args__ = (Index("ix_webhookevent_state_received", "state", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16, description="whatsapp or sms")
    received_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    body: str = Field(description="Raw body, decoded as UTF-8 with replacement")
    body_sha256: str = Field(max_length=64, index=True)
    state: str = Field(
        default="pending",
        max_length=16,
        description="an EventState: pending, retry, done, partial, rejected, unhandled, dead, "
        "discarded (every provider, ctreflex/inbound/lifecycle.py)",
    )
    kind: str = Field(default="", max_length=64)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str = Field(default="")
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    processed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class UsageRecord(SQLModel, table=True):
    """One row per message handled, the source of the fee roll-up."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    business_number_id: int | None = Field(default=None, foreign_key="businessnumber.id")
    message_id: int = Field(foreign_key="message.id", unique=True)
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=8)
    day: dt.date = Field(sa_type=Date, index=True)
    fee_minor: int = 0
    currency: str = Field(default="USD", max_length=3)
    meta_category: str = Field(default="", max_length=32)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class UsageDaily(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint(
            "account_id", "day", "business_number_id", "channel", name="uq_usagedaily_key"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    day: dt.date = Field(sa_type=Date)
    business_number_id: int | None = Field(default=None, foreign_key="businessnumber.id")
    channel: str = Field(max_length=16)
    inbound: int = 0
    outbound: int = 0
    fee_minor: int = 0
    currency: str = Field(default="USD", max_length=3)
    marketing_templates: int = 0
    utility_templates: int = 0
    authentication_templates: int = 0
    computed_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
