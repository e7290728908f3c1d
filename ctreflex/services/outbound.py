"""Sending: free-form text and media inside the 24-hour window, reactions, read receipts.

A message is stored as "pending" (the agent sees it as sending) before the Graph API call,
then becomes "accepted" with its wamid, or "failed" with Meta's code and reason. Status
webhooks move it on from there. Live events are published after every commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    utc_now,
)
from ctreflex.realtime import broker
from ctreflex.services import graph, ingest, media
from ctreflex.whatsapp import GraphAPIError, GraphError, SendResult, TextTooLongError, check_text

log = logging.getLogger("ctreflex.outbound")

MEDIA_ID_TTL = dt.timedelta(days=29)  # Meta keeps uploaded media 30 days


class SendRefused(Exception):
    """A send refused before any Graph API call; the message is safe to show."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass
class _Target:
    account: Account
    plan: Plan
    conversation: Conversation
    contact: Contact
    number: BusinessNumber


def _target(session: Session, account_id: int, conversation_id: int) -> _Target:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        raise SendRefused("This conversation does not exist in your account.", "conversation")
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id)
    if not plan.whatsapp_included:
        raise SendRefused(f"Your plan ({plan.name}) does not include WhatsApp.", "number")
    if not account.early_access:
        raise SendRefused("WhatsApp is in early access and not enabled for your account.", "number")
    if not account.payment_method_on_file:
        raise SendRefused(
            "Add a payment method to your WhatsApp Business Account in Meta before sending.",
            "number",
        )
    number = (
        session.get(BusinessNumber, conv.business_number_id) if conv.business_number_id else None
    )
    if number is None or number.channel != "whatsapp":
        number = session.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == account_id,
                BusinessNumber.channel == "whatsapp",
                BusinessNumber.status == "connected",
            )
        ).first()
    if number is None or number.status != "connected":
        raise SendRefused("No connected WhatsApp number can send this message.", "number")
    contact = session.get(Contact, conv.contact_id)
    return _Target(account, plan, conv, contact, number)


def window_open(conv: Conversation, now: dt.datetime | None = None) -> bool:
    now = now or utc_now()
    return conv.window_expires_at is not None and conv.window_expires_at > now


def _require_window(t: _Target) -> None:
    if not window_open(t.conversation):
        raise SendRefused(
            "The 24-hour window is closed: the customer has not written in the last 24 hours. "
            "Only an approved template can reach them now.",
            "window",
        )


def _reply_target(session: Session, t: _Target, reply_to_id: int | None) -> Message | None:
    if reply_to_id is None:
        return None
    quoted = session.get(Message, reply_to_id)
    if quoted is None or quoted.conversation_id != t.conversation.id:
        raise SendRefused("The message you are replying to is not in this conversation.", "reply")
    return quoted


def _pending(
    session: Session,
    t: _Target,
    *,
    user_id: int,
    kind: str,
    body: str,
    media_id: int | None = None,
    reply: Message | None = None,
    payload: dict | None = None,
) -> Message:
    now = utc_now()
    message = Message(
        account_id=t.account.id,
        conversation_id=t.conversation.id,
        business_number_id=t.number.id,
        direction="outbound",
        channel="whatsapp",
        kind=kind,
        body=body,
        media_id=media_id,
        status="pending",
        sender_user_id=user_id,
        reply_to_id=reply.id if reply else None,
        reply_to_provider_id=reply.provider_message_id if reply else None,
        payload=payload,
        created_at=now,
    )
    session.add(message)
    conv = t.conversation
    conv.last_message_at = now
    conv.last_preview = (body or kind.title())[:200]
    conv.channel = "whatsapp"
    conv.business_number_id = t.number.id
    session.add(conv)
    session.commit()
    return message


async def _publish(account_id: int, conversation_id: int, message_id: int) -> None:
    await broker.publish(
        account_id,
        {"type": "message", "conversation_id": conversation_id, "message_id": message_id},
    )


def _settle(message_id: int, result: SendResult | None, error: GraphError | None) -> Message:
    with db.session_scope() as session:
        message = session.get(Message, message_id)
        if result is not None:
            message.provider_message_id = result.wamid
            if message.status == "pending":
                message.status = "accepted"
            plan = session.exec(
                select(Plan)
                .join(Account, Account.plan_id == Plan.id)
                .where(Account.id == message.account_id)
            ).one()
            session.add(message)
            session.flush()
            ingest.record_usage(session, message, plan, message.created_at)
        else:
            message.status = "failed"
            message.failed_at = utc_now()
            if isinstance(error, GraphAPIError):
                message.error_code = error.code
                message.error_title = (error.title or "")[:255]
                message.error_detail = error.details or str(error)
            else:
                message.error_code = None
                message.error_title = "Could not reach WhatsApp"
                message.error_detail = str(error)
        session.add(message)
        return message


async def _deliver(message_id: int, call) -> int:
    result: SendResult | None = None
    error: GraphError | None = None
    try:
        result = await call()
    except GraphError as exc:
        error = exc
    message = _settle(message_id, result, error)
    await _publish(message.account_id, message.conversation_id, message.id)
    return message.id


async def send_text(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    body: str,
    reply_to_id: int | None = None,
) -> int:
    text = (body or "").strip("\n")
    if not text.strip():
        raise SendRefused("Type a message first.", "body")
    try:
        check_text(text)
    except TextTooLongError as exc:
        raise SendRefused(str(exc), "body") from exc
    with db.session_scope() as session:
        t = _target(session, account_id, conversation_id)
        _require_window(t)
        reply = _reply_target(session, t, reply_to_id)
        message = _pending(session, t, user_id=user_id, kind="text", body=text, reply=reply)
        ids = (message.id, t.number.phone_number_id, t.contact.wa_id or t.contact.e164)
        quoted = reply.provider_message_id if reply else None
        client = graph.client_for(t.number)
    await _publish(account_id, conversation_id, ids[0])
    return await _deliver(
        ids[0],
        lambda: client.send_text(ids[1], ids[2], text, reply_to=quoted, preview_url="http" in text),
    )


async def _provider_media_id(client, number: BusinessNumber, mf: MediaFile) -> str:
    fresh = mf.provider_media_id and mf.created_at > utc_now() - MEDIA_ID_TTL
    if fresh:
        return mf.provider_media_id
    path: Path = media.absolute_path(mf)
    media_id = await client.upload_media(
        number.phone_number_id, path, mf.mime_type, mf.filename or path.name
    )
    with db.session_scope() as session:
        row = session.get(MediaFile, mf.id)
        row.provider_media_id = media_id
        session.add(row)
    return media_id


async def send_media(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    media_file_id: int,
    caption: str = "",
    reply_to_id: int | None = None,
) -> int:
    caption = (caption or "").strip()
    if len(caption) > 1024:
        raise SendRefused("A caption can be at most 1,024 characters.", "body")
    with db.session_scope() as session:
        t = _target(session, account_id, conversation_id)
        _require_window(t)
        mf = session.get(MediaFile, media_file_id)
        if mf is None or mf.account_id != account_id or mf.state != "ready":
            raise SendRefused("The attachment is not available; attach it again.", "attachment")
        reply = _reply_target(session, t, reply_to_id)
        message = _pending(
            session, t, user_id=user_id, kind=mf.kind, body=caption, media_id=mf.id, reply=reply
        )
        message_id = message.id
        number, contact_to = t.number, t.contact.wa_id or t.contact.e164
        quoted = reply.provider_message_id if reply else None
        client = graph.client_for(t.number)
    await _publish(account_id, conversation_id, message_id)

    async def call() -> SendResult:
        provider_id = await _provider_media_id(client, number, mf)
        return await client.send_media(
            number.phone_number_id,
            contact_to,
            mf.kind,
            media_id=provider_id,
            caption=caption or None,
            filename=mf.filename if mf.kind == "document" else None,
            reply_to=quoted,
        )

    return await _deliver(message_id, call)


async def retry(*, account_id: int, user_id: int, message_id: int) -> int:
    """Send a failed message again, as a new message."""
    with db.session_scope() as session:
        old = session.get(Message, message_id)
        if old is None or old.account_id != account_id or old.direction != "outbound":
            raise SendRefused("That message cannot be retried.", "message")
        if old.status != "failed":
            raise SendRefused("Only a failed message can be retried.", "message")
        kind, body, media_id, conv_id, reply_id = (
            old.kind,
            old.body,
            old.media_id,
            old.conversation_id,
            old.reply_to_id,
        )
    if kind == "text":
        return await send_text(
            account_id=account_id,
            user_id=user_id,
            conversation_id=conv_id,
            body=body,
            reply_to_id=reply_id,
        )
    if kind in ("image", "video", "document") and media_id:
        return await send_media(
            account_id=account_id,
            user_id=user_id,
            conversation_id=conv_id,
            media_file_id=media_id,
            caption=body,
            reply_to_id=reply_id,
        )
    raise SendRefused("This kind of message cannot be retried from here.", "message")


async def send_read_receipt(*, account_id: int, conversation_id: int) -> bool:
    """Tell WhatsApp the agent has read the conversation (blue ticks on the customer's phone)."""
    with db.session_scope() as session:
        conv = session.get(Conversation, conversation_id)
        if conv is None or conv.account_id != account_id:
            return False
        last = session.exec(
            select(Message, BusinessNumber)
            .join(BusinessNumber, BusinessNumber.id == Message.business_number_id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "inbound",
                Message.channel == "whatsapp",
                Message.kind != "reaction",
            )
            .order_by(Message.created_at.desc())
        ).first()
        if last is None or not last[0].provider_message_id:
            return False
        message, number = last
        wamid, pnid = message.provider_message_id, number.phone_number_id
        client = graph.client_for(number)
    try:
        return await client.mark_read(pnid, wamid)
    except GraphError as exc:
        log.info("read receipt for %s not sent: %s", wamid, exc)
        return False
