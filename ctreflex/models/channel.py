"""Business numbers (WhatsApp and SMS) and synced WhatsApp templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ctreflex.models._base import StrEnum, UTCDateTime, utc_now


class Channel(StrEnum):
    whatsapp = "whatsapp"
    sms = "sms"


class NumberStatus(StrEnum):
    pending = "pending"  # added, not yet verified/registered
    connected = "connected"  # registered and usable
    disabled = "disabled"  # turned off here (removal happens in Meta)


class BusinessNumber(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "e164", name="uq_businessnumber_channel_e164"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    channel: str = Field(max_length=16)
    e164: str = Field(max_length=20)
    display_name: str = Field(default="", max_length=120)
    verified_name: str = Field(default="", max_length=120)
    name_status: str = Field(default="", max_length=32)
    waba_id: str | None = Field(default=None, max_length=64, index=True)
    phone_number_id: str | None = Field(default=None, unique=True, max_length=64)
    access_token_encrypted: str | None = Field(default=None, max_length=2048)
    status: str = Field(default=NumberStatus.pending.value, max_length=16)
    code_verification_status: str = Field(default="", max_length=32)
    quality_rating: str = Field(default="UNKNOWN", max_length=16)
    messaging_limit: str = Field(default="", max_length=32)
    throughput_level: str = Field(default="", max_length=16)
    sms_provider_config: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Template(SQLModel, table=True):
    """Read-only copy of a Meta message template (created and edited in Meta only)."""

    __table_args__ = (
        UniqueConstraint("waba_id", "name", "language", name="uq_template_waba_name_language"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    waba_id: str = Field(max_length=64)
    provider_template_id: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=512)
    language: str = Field(max_length=16)
    category: str = Field(max_length=32)
    status: str = Field(max_length=32)
    quality: str = Field(default="UNKNOWN", max_length=16)
    parameter_format: str = Field(default="POSITIONAL", max_length=16)
    rejected_reason: str | None = Field(default=None, max_length=64)
    components: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    synced_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
