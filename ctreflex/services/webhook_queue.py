"""Outbound webhooks, queueing: deliveries per endpoint and event, the listener and the job."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import threading
import time
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import (
    Contact,
    Conversation,
    Message,
    OptOutEvent,
    WebhookDelivery,
    WebhookEndpoint,
    utc_now,
)
from ctreflex.realtime import LiveKind
from ctreflex.services import outbound_webhooks as hooks
from ctreflex.services.outbound_webhooks import _ACTIVE, _ACTIVE_TTL, WINDOW_CLOSING_WITHIN, log
from ctreflex.services.webhook_delivery import deliver_due

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
            if added and hooks.AUTO_DELIVER:
                await deliver_due()
        except Exception:  # noqa: BLE001 - never disturb the publisher
            log.exception("queueing webhook deliveries for message %s failed", message_id)

    task = loop.create_task(work())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def kick_soon() -> None:
    """Deliver what is due now, from synchronous code (after an opt-out or a replay)."""
    if not hooks.AUTO_DELIVER:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(deliver_due())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


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
