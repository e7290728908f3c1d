"""The SMS provider's records: config, accounts, messages, deliveries, customers, signatures."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"

# Seeded accounts (restored by reset). The app's demo seed uses the same identities.
SEED_ACCOUNTS = [
    {
        "sid": "AC5e0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f",
        "auth_token": "7c1f3e5a9b2d4f6e8a0c1b3d5f7e9a2c",
        "name": "Demo Bakery",
        "numbers": ["+15550100150"],
    },
    {
        "sid": "AC4a7b0c1d2e3f4a5b6c7d8e9f0a1b2c3d",
        "auth_token": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "name": "Harbor Tools",
        "numbers": ["+15550100350"],
    },
]

Sender = Callable[[str, list[tuple[str, str]], dict[str, str]], Awaitable[int]]
Fetcher = Callable[[str], Awaitable[tuple[int, str, bytes]]]


def sign(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by the sorted name+value pairs."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc2822(at: dt.datetime | None) -> str | None:
    return format_datetime(at, usegmt=True) if at else None


def normalise(number: str) -> str:
    """'+1 212-555-0142', '12125550142' -> '+12125550142' (no validation)."""
    text = (number or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return "+" + digits if digits else text


class ProviderError(Exception):
    def __init__(self, code: int, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclasses.dataclass
class SmsSimulatorConfig:
    inbound_url: str | None = "http://127.0.0.1:3000/webhooks/sms"  # each number's SMS URL
    public_base_url: str | None = None  # this simulator's URL (inbound media links)
    seed: bool = True
    sent_delay: float = 0.2  # queued -> sent
    deliver_delay: float = 0.4  # sent -> delivered (or undelivered)
    retry_schedule: tuple[float, ...] = (0.5, 1, 2, 5, 10, 15, 30)  # the last value repeats
    max_attempts: int = 12
    timeout: float = 10.0
    webhook_sender: Sender | None = None  # test hook instead of HTTP
    media_fetcher: Fetcher | None = None  # test hook instead of HTTP GET of MediaUrl


@dataclasses.dataclass
class Account:
    sid: str
    auth_token: str
    name: str
    numbers: dict[str, str]  # e164 -> the URL incoming texts are posted to


@dataclasses.dataclass
class SimMessage:
    sid: str
    account_sid: str
    direction: str  # inbound | outbound-api | outbound-reply
    from_: str
    to: str
    body: str
    media_urls: list[str]
    status: str
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    num_segments: int = 1
    created_at: dt.datetime = dataclasses.field(default_factory=now_utc)
    updated_at: dt.datetime = dataclasses.field(default_factory=now_utc)
    sent_at: dt.datetime | None = None
    statuses: list[str] = dataclasses.field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "messaging_service_sid": None,
            "from": self.from_,
            "to": self.to,
            "body": self.body,
            "status": self.status,
            "direction": self.direction,
            "num_segments": str(self.num_segments),
            "num_media": str(len(self.media_urls)),
            "price": None,
            "price_unit": "USD",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at),
            "date_sent": rfc2822(self.sent_at),
            "uri": base + ".json",
            "subresource_uris": {"media": base + "/Media.json"},
        }

    def control_view(self) -> dict[str, Any]:
        return {
            **self.resource(),
            "media_urls": self.media_urls,
            "status_callback": self.status_callback,
            "statuses": self.statuses,
        }


@dataclasses.dataclass
class Delivery:
    id: int
    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    kind: str  # inbound | status
    state: str = "pending"  # pending | delivered | failed
    attempts: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "kind": self.kind,
            "state": self.state,
            "params": dict(self.params),
            "attempts": self.attempts,
        }


@dataclasses.dataclass
class Customer:
    number: str
    carrier_error: int | None = None  # deliveries to this phone end "undelivered" with it
    unsubscribed_from: set[str] = dataclasses.field(default_factory=set)  # business numbers

    def view(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "carrier_error": self.carrier_error,
            "unsubscribed_from": sorted(self.unsubscribed_from),
        }
