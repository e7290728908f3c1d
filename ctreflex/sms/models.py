"""Typed shapes of the SMS provider's REST resources and webhooks (Twilio's Messages API)."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

API_VERSION = "2010-04-01"

# provider status -> this inbox's message status
STATUS_MAP = {
    "accepted": "accepted",
    "scheduled": "accepted",
    "queued": "accepted",
    "sending": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def _rfc2822(value):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None


class MessageResource(BaseModel):
    """A message as the REST API returns it (create or fetch)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    sid: str
    account_sid: str = ""
    from_: str = Field(default="", alias="from")
    to: str = ""
    body: str = ""
    status: str = ""
    direction: str = ""
    num_segments: int = 0
    num_media: int = 0
    error_code: int | None = None
    error_message: str | None = None
    date_created: dt.datetime | None = None
    date_updated: dt.datetime | None = None
    date_sent: dt.datetime | None = None

    @field_validator("date_created", "date_updated", "date_sent", mode="before")
    @classmethod
    def _dates(cls, value):
        return _rfc2822(value)

    @field_validator("num_segments", "num_media", mode="before")
    @classmethod
    def _int(cls, value):
        return int(value) if value not in (None, "") else 0


class InboundMedia(BaseModel):
    url: str
    content_type: str = ""


class InboundSMS(BaseModel):
    """An incoming text (or MMS) as the provider's webhook posts it."""

    message_sid: str
    account_sid: str
    from_: str
    to: str
    body: str = ""
    num_segments: int = 1
    media: list[InboundMedia] = Field(default_factory=list)
    from_country: str = ""

    @property
    def is_mms(self) -> bool:
        return bool(self.media)


class StatusCallback(BaseModel):
    """A delivery receipt: the message's new status, with an error code when it failed."""

    message_sid: str
    account_sid: str
    message_status: str
    from_: str = ""
    to: str = ""
    error_code: int | None = None

    @property
    def inbox_status(self) -> str | None:
        return STATUS_MAP.get(self.message_status)

    @property
    def is_failed(self) -> bool:
        return self.inbox_status == "failed"
