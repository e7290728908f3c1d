"""Outbound webhooks: an account's admins register HTTPS endpoints and choose events; each event
is queued in the database (one WebhookDelivery per endpoint) and delivered by the delivery job
and an in-process kick, signed like Stripe's:

    CTText-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>

Events: message.received (a customer's message was stored), message.status (one of our sends
moved: accepted, queued, unconfirmed, sent, delivered, read, failed) and optout.changed (a STOP,
START or marketing opt-out was recorded) and conversation.window_closing (a customer's 24-hour
window closes within the hour: the last chance for a free-form reply; found by the delivery job
each minute, once per window) and conversation.assigned (a conversation was assigned or
unassigned, by an agent, by a reply or by the API; queued in the change's transaction by
services/assignment.py).

Nothing here blocks the inbox or the webhook processor: message events are picked up from the
live-event stream (`realtime.broker` listeners, after the commit) and queued from a worker
thread; opt-outs are queued inside the transaction that records them. Each event has a key, so
the same event is queued once per endpoint however often it is published.

Delivery: 2xx is delivered; anything else (or no answer in 10 s) is retried with exponential
backoff (10 s doubling, at most 1 h between tries) for a day, then "failed". A conversation's
events go out in order: a delivery waits while an earlier one of the same conversation and
endpoint is still pending. Every try is kept (WebhookAttempt) for the admin page, where a
delivery can be replayed. Never imports reflex."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, select

from ctreflex.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utc_now,
)
from ctreflex.services import crypto
from ctreflex.services.errors import UserFacingError
from ctreflex.settings import get_settings

log = logging.getLogger("ctreflex.webhooks_out")

EVENTS = (
    "message.received",
    "message.status",
    "optout.changed",
    "conversation.window_closing",
    "conversation.assigned",
)
EVENT_HELP = {
    "message.received": "A customer's message arrived (WhatsApp or SMS).",
    "message.status": "A message you sent was accepted, sent, delivered, read or failed.",
    "optout.changed": "A customer opted out (STOP, marketing) or back in (START).",
    "conversation.window_closing": "A conversation's 24-hour window closes within the hour.",
    "conversation.assigned": "A conversation was assigned to someone or unassigned.",
}
WINDOW_CLOSING_WITHIN = dt.timedelta(hours=1)  # the same hour the window sweep job counts
SIGNATURE_HEADER = "CTText-Signature"
TIMEOUT = 10.0
FIRST_WAIT = dt.timedelta(seconds=10)
MAX_WAIT = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=1)
CLAIM_FOR = dt.timedelta(seconds=60)
ENDPOINTS_PER_ACCOUNT = 10
URL_MAX = 2000
#: Tests inject an httpx transport (e.g. httpx.ASGITransport of a receiver app) here.
TRANSPORT: httpx.AsyncBaseTransport | None = None
#: The in-process kick after an event is queued (tests switch it off to drive delivery).
AUTO_DELIVER = True
# The accounts with an active endpoint, cached for the live-event listener (webhook_queue);
# cleared here whenever an endpoint changes.
_ACTIVE: dict[str, Any] = {}  # {"at": monotonic, "ids": set of account ids with endpoints}
_ACTIVE_TTL = 10.0  # another worker sees a new endpoint within this many seconds


class WebhookError(UserFacingError, ValueError):
    """A refused endpoint or delivery action; `field` names the input."""


# ------------------------------------------------------------------------------ signing


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """What a receiver does (docs/API.md shows it): the v1 HMAC matches and t is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - ts) > tolerance:
        return False
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# ------------------------------------------------------------------------------ endpoints


@dataclasses.dataclass(frozen=True)
class EndpointRow:
    id: int
    url: str
    description: str
    events: str
    active: bool
    created: str
    pending: int
    failed: int


@dataclasses.dataclass(frozen=True)
class NewEndpoint:
    id: int
    url: str
    secret: str  # shown once


def _local_allowed() -> bool:
    return get_settings().webhooks_allow_local


def check_url(url: str, *, resolve: bool = False) -> str:
    """An https URL of a public host (http://127.0.0.1 / localhost only when
    CTREFLEX_WEBHOOKS_ALLOW_LOCAL is set). With `resolve`, every address the host has must be
    public too (checked again before each delivery: no requests into the server's network)."""
    url = (url or "").strip()
    if not url:
        raise WebhookError("Enter the endpoint's URL.", "url")
    if len(url) > URL_MAX:
        raise WebhookError(f"A URL can be at most {URL_MAX} characters.", "url")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local = host in ("127.0.0.1", "localhost", "::1")
    if local and _local_allowed() and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https":
        raise WebhookError("The URL must start with https://.", "url")
    if not host or parts.username or parts.password:
        raise WebhookError("The URL needs a host name (and no user name or password).", "url")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if local or (literal is not None and not literal.is_global):
        raise WebhookError("The URL must point to a public address on the internet.", "url")
    if resolve and literal is None:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise WebhookError(f"The host {host} cannot be resolved.", "url") from exc
        for info in infos:
            if not ipaddress.ip_address(info[4][0]).is_global:
                raise WebhookError(f"The host {host} resolves to a private address.", "url")
    return url


def clean_events(events) -> tuple[str, ...]:
    chosen = [e for e in EVENTS if e in set(events or ())]
    unknown = sorted(set(events or ()) - set(EVENTS))
    if unknown:
        raise WebhookError(f"Unknown event {unknown[0]!r}.", "events")
    if not chosen:
        raise WebhookError("Choose at least one event.", "events")
    return tuple(chosen)


def create_endpoint(
    *, session: Session, account_id: int, url: str, events, description: str = ""
) -> NewEndpoint:
    url = check_url(url)
    chosen = clean_events(events)
    description = " ".join((description or "").split())[:200]
    count = len(
        session.exec(
            select(WebhookEndpoint.id).where(WebhookEndpoint.account_id == account_id)
        ).all()
    )
    if count >= ENDPOINTS_PER_ACCOUNT:
        raise WebhookError(f"An account can have at most {ENDPOINTS_PER_ACCOUNT} endpoints.", "url")
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookEndpoint(
        account_id=account_id,
        url=url,
        description=description,
        events=" ".join(chosen),
        secret_encrypted=crypto.encrypt(secret),
    )
    session.add(row)
    session.commit()
    _ACTIVE.clear()
    return NewEndpoint(row.id, url, secret)


def _own_endpoint(session: Session, account_id: int, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.account_id != account_id:
        raise WebhookError("No such endpoint in your account.", "endpoint")
    return row


def set_active(*, session: Session, account_id: int, endpoint_id: int, active: bool) -> None:
    row = _own_endpoint(session, account_id, endpoint_id)
    row.active = bool(active)
    session.add(row)
    session.commit()
    _ACTIVE.clear()


def delete_endpoint(*, session: Session, account_id: int, endpoint_id: int) -> None:
    """Remove an endpoint with its queued deliveries and their attempts (an API client
    unsubscribing: Zapier's REST hooks, a Power Automate webhook trigger)."""
    from sqlalchemy import delete

    row = _own_endpoint(session, account_id, endpoint_id)
    ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == row.id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id))
    session.delete(row)
    session.commit()
    _ACTIVE.clear()


def list_endpoints(*, session: Session, account_id: int, fmt=None) -> list[EndpointRow]:
    rows = session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == account_id)
        .order_by(WebhookEndpoint.id)
    ).all()
    out = []
    for r in rows:
        states = session.exec(
            select(WebhookDelivery.state).where(WebhookDelivery.endpoint_id == r.id)
        ).all()
        out.append(
            EndpointRow(
                id=r.id,
                url=r.url,
                description=r.description,
                events=r.events,
                active=r.active,
                created=_fmt(r.created_at, fmt),
                pending=sum(1 for s in states if s == "pending"),
                failed=sum(1 for s in states if s == "failed"),
            )
        )
    return out


def _fmt(at: dt.datetime | None, fmt) -> str:
    if at is None:
        return ""
    return fmt(at) if fmt else at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ----------------------------------------------------------------------- the admin's view


@dataclasses.dataclass(frozen=True)
class AttemptRow:
    at: str
    status: str
    error: str
    duration_ms: int


@dataclasses.dataclass(frozen=True)
class DeliveryRow:
    id: int
    endpoint_id: int
    endpoint_url: str
    event_type: str
    state: str
    attempts: int
    last_result: str
    created: str
    next_attempt: str
    delivered: str
    history: list[AttemptRow]
    history_text: str  # one line per try, for the page


def list_deliveries(
    *, session: Session, account_id: int, limit: int = 50, fmt=None
) -> list[DeliveryRow]:
    rows = session.exec(
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.account_id == account_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    ids = [d.id for d, _ in rows]
    attempts: dict[int, list[WebhookAttempt]] = {}
    if ids:
        for a in session.exec(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ).all():
            attempts.setdefault(a.delivery_id, []).append(a)
    out = []
    for d, url in rows:
        last = f"HTTP {d.last_status}" if d.last_status is not None else (d.last_error or "")
        out.append(
            DeliveryRow(
                id=d.id,
                endpoint_id=d.endpoint_id,
                endpoint_url=url,
                event_type=d.event_type,
                state=d.state,
                attempts=d.attempts,
                last_result=last if d.attempts else "Not tried yet",
                created=_fmt(d.created_at, fmt),
                next_attempt=_fmt(d.next_attempt_at, fmt) if d.state == "pending" else "",
                delivered=_fmt(d.delivered_at, fmt),
                history=[
                    AttemptRow(
                        at=_fmt(a.at, fmt),
                        status=str(a.status_code) if a.status_code is not None else "no answer",
                        error=a.error,
                        duration_ms=a.duration_ms,
                    )
                    for a in attempts.get(d.id, [])
                ],
                history_text="\n".join(
                    f"{_fmt(a.at, fmt)}: "
                    + (f"HTTP {a.status_code}" if a.status_code is not None else "no answer")
                    + (f" ({a.error})" if a.error and a.status_code is None else "")
                    + f", {a.duration_ms} ms"
                    for a in attempts.get(d.id, [])
                ),
            )
        )
    return out


def replay(*, session: Session, account_id: int, delivery_id: int) -> None:
    """Send a delivery again (delivered or failed: the same body, a fresh signature)."""
    d = session.get(WebhookDelivery, delivery_id)
    if d is None or d.account_id != account_id:
        raise WebhookError("No such delivery in your account.", "delivery")
    d.state = "pending"
    d.next_attempt_at = utc_now()
    d.claimed_until = None
    d.created_at = utc_now()  # a fresh day of retries
    session.add(d)
    session.commit()
