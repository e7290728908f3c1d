"""The outbox: sends Meta refused for now (rate limit, outage) tried again with backoff,
sends that may have reached Meta swept to unconfirmed, and the thread's lines for them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from ctreflex import db
from ctreflex.models import (
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Template,
    utc_now,
)
from ctreflex.services import graph
from ctreflex.services.outbound import (
    MAX_ATTEMPTS,
    STALE_PENDING_AFTER,
    UNCONFIRMED_CHECK_AFTER,
    _deliver,
    _fail,
    _media_call,
    _publish,
    window_open,
)
from ctreflex.services.template_send import template_call
from ctreflex.services.templates import to_graph


def _publish_soon(events: list[tuple[int, int, int]]) -> list[Awaitable[None]]:
    return [_publish(a, c, m) for a, c, m in events]


def _fail_queued(message_id: int, now: dt.datetime, title: str, detail: str = "") -> Message:
    with db.session_scope() as session:
        message = session.get(Message, message_id)
        _fail(message, now, None, title)
        message.error_detail = detail
        session.add(message)
        return message


def _call_for(session: Session, message: Message, now: dt.datetime):
    """The Graph API call that sends this stored message again, or a refusal (str)."""
    number = (
        session.get(BusinessNumber, message.business_number_id)
        if message.business_number_id
        else None
    )
    if number is None or number.channel != "whatsapp" or number.status != "connected":
        return "The WhatsApp number of this message is no longer connected."
    conv = session.get(Conversation, message.conversation_id)
    contact = session.get(Contact, conv.contact_id)
    if message.kind != "template" and not window_open(conv, now):
        return (
            "The 24-hour window closed before WhatsApp took the message; "
            "only an approved template can reach the customer now."
        )
    try:
        client = graph.client_for(number)
    except graph.NoAccessToken as exc:
        return str(exc)
    to = contact.wa_id or contact.e164
    callback, quoted = message.callback_id, message.reply_to_provider_id
    mf = session.get(MediaFile, message.media_id) if message.media_id else None
    if mf is not None and mf.state != "ready":
        return "The attachment is no longer available."
    if message.kind == "text":
        body = message.body
        return lambda: client.send_text(
            number.phone_number_id,
            to,
            body,
            reply_to=quoted,
            preview_url="http" in body,
            biz_opaque_callback_data=callback,
        )
    if message.kind in ("image", "video", "document") and mf is not None:
        return _media_call(client, number, to, mf, message.body, quoted, callback)
    if message.kind == "template" and message.template_id:
        return _template_call(session, message, client, number, to, mf, quoted, callback)
    if message.kind == "reaction" and quoted:
        emoji = message.body
        return lambda: client.send_reaction(number.phone_number_id, to, quoted, emoji)
    return f"A {message.kind} message cannot be sent again from the outbox."


def _template_call(session, message, client, number, to, mf, quoted, callback):
    row = session.get(Template, message.template_id)
    if row is None:
        return "The template of this message no longer exists."
    return template_call(
        client, number, to, tpl=to_graph(row),
        values=dict((message.payload or {}).get("values") or {}), name=row.name,
        language=row.language, media_file=mf, quoted=quoted, callback=callback,
    )


def _claim(message_id: int, attempts: int, now: dt.datetime) -> bool:
    """Take one queued message for a send: only one worker's UPDATE matches the row."""
    with db.session_scope() as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Message)
            .where(
                col(Message.id) == message_id,
                col(Message.status) == "queued",
                col(Message.send_attempts) == attempts,
            )
            .values(
                status="pending",
                send_attempts=attempts + 1,
                last_attempt_at=now,
                next_attempt_at=None,
            )
        )
        return (result.rowcount or 0) == 1


def mark_stale_unconfirmed(*, session: Session, now: dt.datetime) -> list[tuple[int, int, int]]:
    """Sends still "pending" long after their try started lost their process mid-call: they
    may be out, so they become "unconfirmed" (never sent again on their own)."""
    cutoff = now - STALE_PENDING_AFTER
    rows = session.exec(
        select(Message).where(
            Message.status == "pending",
            Message.direction == "outbound",
            col(Message.provider_message_id).is_(None),
            col(Message.last_attempt_at) < cutoff,
        )
    ).all()
    for message in rows:
        message.status = "unconfirmed"
        message.last_error = "The send was interrupted before an answer came"
        session.add(message)
    session.commit()
    return [(m.account_id, m.conversation_id, m.id) for m in rows]


@dataclasses.dataclass
class OutboxRun:
    sent: int = 0
    requeued: int = 0
    failed: int = 0
    unconfirmed: int = 0
    skipped: int = 0  # claimed by another worker first
    stale: int = 0

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.requeued} to retry later, {self.failed} failed, "
            f"{self.unconfirmed} unconfirmed, {self.stale} interrupted send(s) marked unconfirmed"
        )


async def run_outbox(*, now: dt.datetime | None = None, limit: int = 100) -> OutboxRun:
    """Send the queued messages that are due (oldest first), each claimed first."""
    now = now or utc_now()
    run = OutboxRun()
    with db.session_scope() as session:
        stale = mark_stale_unconfirmed(session=session, now=now)
        due = session.exec(
            select(Message.id, Message.send_attempts)
            .where(Message.status == "queued", col(Message.next_attempt_at) <= now)
            .order_by(col(Message.next_attempt_at), col(Message.id))
            .limit(limit)
        ).all()
    run.stale = len(stale)
    for coro in _publish_soon(stale):
        await coro
    for message_id, attempts in due:
        if not _claim(message_id, attempts, now):
            run.skipped += 1
            continue
        with db.session_scope() as session:
            message = session.get(Message, message_id)
            call = _call_for(session, message, now)
        if isinstance(call, str):
            message = _fail_queued(message_id, now, "Not sent", call)
            await _publish(message.account_id, message.conversation_id, message.id)
            run.failed += 1
            continue
        await _deliver(message_id, call, now)
        with db.session_scope() as session:
            status = session.get(Message, message_id).status
        if status == "queued":
            run.requeued += 1
        elif status == "failed":
            run.failed += 1
        elif status == "unconfirmed":
            run.unconfirmed += 1
        else:
            run.sent += 1
    return run


def send_state(message: Message, local: dt.tzinfo, now: dt.datetime) -> dict[str, Any]:
    """Extra fields of an outbound message's thread row (services/thread_view.MessageRow):
    the outbox's "Retrying at 14:05 (attempt 2 of 5)" line, the unconfirmed notice, and for a
    message that failed after the outbox's tries, what happened and that Retry is safe."""
    if message.direction != "outbound":
        return {}
    whatsapp = (message.channel or "whatsapp") == "whatsapp"
    provider = "WhatsApp" if whatsapp else "the SMS provider"
    if message.status == "queued" and message.next_attempt_at is not None:
        at = message.next_attempt_at.astimezone(local)
        when = at.strftime("%H:%M") if at.date() == now.astimezone(local).date() else (
            at.strftime("%d %b, %H:%M")
        )
        reason = f" {message.last_error}." if message.last_error else ""
        return {
            "queued": True,
            "retry_line": (
                f"Not sent yet:{reason} Retrying at {when} "
                f"(attempt {message.send_attempts + 1} of {MAX_ATTEMPTS})."
            ),
        }
    if message.status == "unconfirmed":
        since = message.last_attempt_at or message.created_at
        why = f" ({message.last_error})" if message.last_error else ""
        if now - since >= UNCONFIRMED_CHECK_AFTER:
            return {
                "unconfirmed": True,
                "unconfirmed_title": "Unconfirmed: check with the customer before resending",
                "unconfirmed_text": (
                    f"{provider[0].upper()}{provider[1:]} never confirmed this message{why}. "
                    "It may or may not have "
                    "reached the customer; it is not sent again on its own."
                ),
            }
        return {
            "unconfirmed": True,
            "unconfirmed_title": f"Sent? Waiting for {provider} to confirm",
            "unconfirmed_text": (
                f"{provider[0].upper()}{provider[1:]} did not answer in time{why}, so the "
                "message may already be on "
                "the customer's phone. It is not sent again on its own"
                + (
                    "; its status appears here as soon as WhatsApp reports it."
                    if whatsapp
                    else "."
                )
            ),
        }
    if message.status == "failed" and whatsapp and message.send_attempts > 1 and message.last_error:
        return {
            "error_todo": (
                f"Tried {message.send_attempts} times; WhatsApp refused each time, so the "
                "customer has no copy. Retry sends it again."
            ),
            "retryable": True,
        }
    return {}

