"""The public API (/api/v1): keys, their rate-limit counters, idempotency records, and the
outbound webhooks (endpoints, queued deliveries, each delivery's attempts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ctreflex.models._base import UTCDateTime, utc_now


class ApiKey(SQLModel, table=True):
    """An account's API key. Only the SHA-256 of the key is kept; the prefix (the first
    characters, shown in lists) lets an admin recognise it."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=80)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(unique=True, max_length=64)
    scopes: str = Field(max_length=64, description="space separated: read send admin")
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiRateWindow(SQLModel, table=True):
    """Requests of one key in one fixed window (shared by every worker through the DB)."""

    api_key_id: int = Field(foreign_key="apikey.id", primary_key=True)
    window_start: int = Field(primary_key=True, description="epoch seconds")
    count: int = 0


class ApiIdempotency(SQLModel, table=True):
    """A POST that sends, remembered by (key, Idempotency-Key) for 24 hours: the request's
    fingerprint and the response given, so a retry gets the same answer and sends nothing."""

    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_apiidempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="apikey.id", index=True)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = None  # None while the first request is still being answered
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, index=True)


class WebhookEndpoint(SQLModel, table=True):
    """An account's HTTPS endpoint that receives the chosen events, signed with its secret."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    events: str = Field(max_length=255, description="space separated event types")
    secret_encrypted: str = Field(max_length=512)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, queued in the database and delivered by the delivery job in
    order per conversation, retried with exponential backoff for a day."""

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key", name="uq_webhookdelivery_event"),
        Index("ix_webhookdelivery_state_next", "state", "next_attempt_at"),
        Index("ix_webhookdelivery_endpoint_conv", "endpoint_id", "conversation_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhookendpoint.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    event_type: str = Field(max_length=40)
    event_key: str = Field(max_length=120, description="one delivery per event and endpoint")
    conversation_id: int | None = Field(default=None, description="order is kept per conversation")
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=16, description="pending, delivered, failed")
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One try of a delivery: when, the HTTP status (None: no answer) and the error."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhookdelivery.id", index=True)
    at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    status_code: int | None = None
    error: str = Field(default="", max_length=500)
    duration_ms: int = 0
