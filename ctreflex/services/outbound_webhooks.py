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

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, exists, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import (
    Contact,
    Conversation,
    Message,
    OptOutEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utc_now,
)
from ctreflex.realtime import LiveKind
from ctreflex.services import crypto
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


class WebhookError(ValueError):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


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


# ------------------------------------------------------------------------------- queueing


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


def enqueue(
    session: Session,
    *,
    account_id: int,
    event_type: str,
    event_key: str,
    conversation_id: int | None,
    data: dict[str, Any],
) -> int:
    """Queue the event for every active endpoint of the account that chose it. Idempotent per
    (endpoint, event_key). Does not commit. Returns how many deliveries were added."""
    endpoints = session.exec(
        select(WebhookEndpoint).where(
            WebhookEndpoint.account_id == account_id, WebhookEndpoint.active.is_(True)
        )
    ).all()
    now = utc_now()
    body = json.dumps(
        {
            "id": "evt_" + hashlib.sha256(f"{account_id}:{event_key}".encode()).hexdigest()[:24],
            "type": event_type,
            "created_at": _iso(now),
            "account_id": account_id,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    added = 0
    for ep in endpoints:
        if event_type not in ep.events.split():
            continue
        try:
            with session.begin_nested():
                session.add(
                    WebhookDelivery(
                        endpoint_id=ep.id,
                        account_id=account_id,
                        event_type=event_type,
                        event_key=event_key,
                        conversation_id=conversation_id,
                        body=body,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
            added += 1
        except IntegrityError:
            continue  # this event is already queued for this endpoint
    return added


def _message_data(session: Session, message: Message) -> dict:
    from ctreflex.services import public_api

    data = public_api.message_view(message)
    contact = session.exec(
        select(Contact)
        .join(Conversation, Conversation.contact_id == Contact.id)
        .where(Conversation.id == message.conversation_id)
    ).first()
    data["contact"] = (
        {"id": contact.id, "phone": contact.e164, "name": contact.name or contact.profile_name}
        if contact
        else None
    )
    return data


def enqueue_for_message(session: Session, message_id: int) -> int:
    """message.received for a customer's message; message.status for one of ours."""
    m = session.get(Message, message_id)
    if m is None:
        return 0
    if m.direction == "inbound":
        if m.kind == "reaction":
            return 0
        return enqueue(
            session,
            account_id=m.account_id,
            event_type="message.received",
            event_key=f"message.received:{m.id}",
            conversation_id=m.conversation_id,
            data=_message_data(session, m),
        )
    if m.status == "pending":
        return 0
    return enqueue(
        session,
        account_id=m.account_id,
        event_type="message.status",
        event_key=f"message.status:{m.id}:{m.status}",
        conversation_id=m.conversation_id,
        data=_message_data(session, m),
    )


def enqueue_optout(session: Session, event: OptOutEvent) -> int:
    """optout.changed, queued in the transaction that records the opt-out (called by
    optouts.record after its flush). A failure here never fails the opt-out itself."""
    try:
        with session.begin_nested():
            return _enqueue_optout(session, event)
    except Exception:  # noqa: BLE001 - the opt-out is what matters; the event is logged
        log.exception("queueing optout.changed for opt-out event %s failed", event.id)
        return 0


def _enqueue_optout(session: Session, event: OptOutEvent) -> int:
    contact = session.get(Contact, event.contact_id)
    if contact is None or not _has_endpoints_now(session, contact.account_id):
        return 0
    conv_id = session.exec(
        select(Conversation.id).where(Conversation.contact_id == contact.id)
    ).first()
    return enqueue(
        session,
        account_id=contact.account_id,
        event_type="optout.changed",
        event_key=f"optout.changed:{event.id}",
        conversation_id=conv_id,
        data={
            "contact": {
                "id": contact.id,
                "phone": contact.e164,
                "name": contact.name or contact.profile_name,
            },
            "channel": event.channel,
            "scope": event.scope,
            "action": event.action,
            "source": event.source,
            "at": _iso(event.created_at),
            "sms_opted_out": contact.sms_opted_out,
            "marketing_opted_out": contact.marketing_opted_out or contact.sms_opted_out,
        },
    )


def _has_endpoints_now(session: Session, account_id: int) -> bool:
    return (
        session.exec(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.account_id == account_id, WebhookEndpoint.active.is_(True)
            )
        ).first()
        is not None
    )


# ---------------------------------------------------- the live-event listener (no blocking)

_ACTIVE: dict[str, Any] = {}  # {"at": monotonic, "ids": set of account ids with endpoints}
_ACTIVE_TTL = 10.0  # another worker sees a new endpoint within this many seconds
_lock = threading.Lock()
_tasks: set = set()


def _accounts_with_endpoints() -> set[int]:
    now = time.monotonic()
    with _lock:
        if _ACTIVE and now - _ACTIVE["at"] < _ACTIVE_TTL:
            return _ACTIVE["ids"]
    with db.session_scope() as session:
        ids = set(
            session.exec(
                select(WebhookEndpoint.account_id).where(WebhookEndpoint.active.is_(True))
            ).all()
        )
    with _lock:
        _ACTIVE.update(at=now, ids=ids)
    return ids


def _enqueue_from_live(account_id: int, message_id: int) -> int:
    if account_id not in _accounts_with_endpoints():
        return 0
    with db.session_scope() as session:
        m = session.get(Message, message_id)
        if m is None or m.account_id != account_id:
            return 0
        return enqueue_for_message(session, message_id)


def on_live_event(account_id: int, event: dict) -> None:
    """A realtime.broker listener: runs on the event loop right after a publish, so it only
    hands the work to a thread (and then kicks the delivery)."""
    if event.get("type") not in (LiveKind.MESSAGE, LiveKind.STATUS) or not event.get("message_id"):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    message_id = int(event["message_id"])
    with _lock:  # the common case (no endpoint for this account) costs no thread at all
        fresh = bool(_ACTIVE) and time.monotonic() - _ACTIVE["at"] < _ACTIVE_TTL
        if fresh and int(account_id) not in _ACTIVE["ids"]:
            return

    async def work() -> None:
        try:
            added = await asyncio.to_thread(_enqueue_from_live, int(account_id), message_id)
            if added and AUTO_DELIVER:
                await deliver_due()
        except Exception:  # noqa: BLE001 - never disturb the publisher
            log.exception("queueing webhook deliveries for message %s failed", message_id)

    task = loop.create_task(work())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def kick_soon() -> None:
    """Deliver what is due now, from synchronous code (after an opt-out or a replay)."""
    if not AUTO_DELIVER:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(deliver_due())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


# ------------------------------------------------------------------------------ delivery


def backoff(attempts: int) -> dt.timedelta:
    return min(FIRST_WAIT * (2 ** max(attempts - 1, 0)), MAX_WAIT)


def _due_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        and_(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.conversation_id == WebhookDelivery.conversation_id,
            earlier.state == "pending",
            earlier.id < WebhookDelivery.id,
        )
    )
    stmt = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.state == "pending",
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            or_(WebhookDelivery.conversation_id.is_(None), ~blocked),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def _claim(delivery_id: int, now: dt.datetime) -> tuple[str, str, bytes] | None:
    with db.session_scope() as session:
        done = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.state == "pending",
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            )
            .values(claimed_until=now + CLAIM_FOR)
        )
        if not done.rowcount:
            return None
        d = session.get(WebhookDelivery, delivery_id)
        ep = session.get(WebhookEndpoint, d.endpoint_id)
        if ep is None or not ep.active:
            d.claimed_until = None
            d.next_attempt_at = now + MAX_WAIT  # waits for the endpoint to be turned back on
            session.add(d)
            return None
        return ep.url, crypto.decrypt(ep.secret_encrypted), d.body.encode()


def _record(delivery_id: int, status: int | None, error: str, ms: int, now: dt.datetime) -> str:
    with db.session_scope() as session:
        d = session.get(WebhookDelivery, delivery_id)
        session.add(
            WebhookAttempt(
                delivery_id=d.id, at=now, status_code=status, error=error[:500], duration_ms=ms
            )
        )
        d.attempts += 1
        d.last_status = status
        d.last_error = error[:500]
        d.claimed_until = None
        if status is not None and 200 <= status < 300:
            d.state, d.delivered_at, d.next_attempt_at = "delivered", now, None
        else:
            nxt = now + backoff(d.attempts)
            if nxt - d.created_at > GIVE_UP_AFTER and d.attempts > 1:
                d.state, d.next_attempt_at = "failed", None
            else:
                d.next_attempt_at = nxt
        session.add(d)
        return d.state


async def _post(client: httpx.AsyncClient, url: str, secret: str, body: bytes):
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CTText-Webhooks/1",
        SIGNATURE_HEADER: sign(secret, body),
    }
    started = time.monotonic()
    try:
        await asyncio.to_thread(check_url, url, resolve=True)
        resp = await client.post(url, content=body, headers=headers)
        status, error = resp.status_code, ("" if resp.is_success else f"HTTP {resp.status_code}")
    except WebhookError as exc:
        status, error = None, exc.message
    except httpx.HTTPError as exc:
        status, error = None, (f"{exc.__class__.__name__}: {exc}").rstrip(": ")
    return status, error, int((time.monotonic() - started) * 1000)


@dataclasses.dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} given up"


async def deliver_due(
    *,
    now: dt.datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    rounds: int = 20,
) -> DeliveryRun:
    """Deliver every due delivery, in order per conversation: each round sends the first
    pending delivery of each conversation (per endpoint), then looks again."""
    run = DeliveryRun()  # no lock needed: each delivery is claimed, and a later one of the
    # same conversation waits while an earlier one is pending, whichever run holds it
    async with httpx.AsyncClient(
        timeout=TIMEOUT, transport=transport or TRANSPORT, follow_redirects=False
    ) as client:
        for _ in range(rounds):
            at = now or utc_now()
            with db.session_scope() as session:
                ids = _due_ids(session, at, 100)
            if not ids:
                break
            progressed = False
            for delivery_id in ids:
                claimed = await asyncio.to_thread(_claim, delivery_id, at)
                if claimed is None:
                    continue
                url, secret, body = claimed
                status, error, ms = await _post(client, url, secret, body)
                state = await asyncio.to_thread(_record, delivery_id, status, error, ms, at)
                if state == "delivered":
                    run.delivered += 1
                    progressed = True
                elif state == "failed":
                    run.failed += 1
                    progressed = True
                else:
                    run.retrying += 1
            if not progressed:
                break
    return run


def enqueue_window_closing(now: dt.datetime | None = None) -> int:
    """conversation.window_closing for every open window closing within the hour, of the
    accounts with an endpoint that chose it (once per window: its closing time is in the key)."""
    now = now or utc_now()
    added = 0
    with db.session_scope() as session:
        accounts = {
            ep.account_id
            for ep in session.exec(
                select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
            ).all()
            if "conversation.window_closing" in ep.events.split()
        }
        if not accounts:
            return 0
        rows = session.exec(
            select(Conversation, Contact)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(
                Conversation.account_id.in_(accounts),
                Conversation.window_expires_at > now,
                Conversation.window_expires_at <= now + WINDOW_CLOSING_WITHIN,
            )
        ).all()
        for conv, contact in rows:
            expires = conv.window_expires_at
            added += enqueue(
                session,
                account_id=conv.account_id,
                event_type="conversation.window_closing",
                event_key=f"conversation.window_closing:{conv.id}:{int(expires.timestamp())}",
                conversation_id=conv.id,
                data={
                    "conversation_id": conv.id,
                    "contact": {
                        "id": contact.id,
                        "phone": contact.e164,
                        "name": contact.name or contact.profile_name,
                    },
                    "window_expires_at": _iso(expires),
                    "minutes_left": max(0, int((expires - now).total_seconds() // 60)),
                },
            )
    return added


async def deliver_job(*, now: dt.datetime | None = None) -> str:
    """The scheduled job: closing windows queued, then deliveries whose (retry) time has come."""
    closing = await asyncio.to_thread(enqueue_window_closing, now)
    run = await deliver_due(now=now)
    return f"{closing} window(s) closing queued; " + run.summary()


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
