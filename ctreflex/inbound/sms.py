"""SMS events on the one journal and processor: an incoming text or MMS, and a delivery
receipt, each turned into rows like a WhatsApp event (inbound/dispatch.py picks this module by
the event's provider, then SMS_HANDLERS by its kind).

The webhook (api/sms_webhooks.py) checks the signature, journals the form body with its kind
and the account whose auth token verified it, wakes the processor and answers the provider.
An SMS lands in the customer's one conversation (Message.channel = "sms"); provider ids are
stored prefixed ("sms:SM…") so they never collide with a wamid; STOP/START go to the opt-out
ledger with the provider's confirmation mirrored in the thread; a receipt before its message
waits (retry), and statuses only move forward. No 24-hour window on SMS, no platform fee.

Guarded by tests/sms/test_sms_ingest.py, tests/api/test_sms_flow.py and
tests/unit/test_inbound_sms_replay.py (killed mid-processing, replayed like WhatsApp).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound import lifecycle, rows
from ctreflex.inbound.lifecycle import Deferred, Outcome, Refused
from ctreflex.models import (
    STATUS_RANK,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    WebhookEvent,
)
from ctreflex.models.ops import EventState
from ctreflex.realtime import broker
from ctreflex.services import media, optouts
from ctreflex.services.sms import (
    MMS_MAX_BYTES,
    NotConfigured,
    ProviderAccount,
    client_for,
    provider_account,
    provider_id,
    sms_numbers,
)
from ctreflex.sms import (
    InboundSMS,
    SMSError,
    SMSWebhookError,
    describe,
    parse_form,
    parse_inbound,
    parse_status,
)
from ctreflex.whatsapp.limits import INBOUND_MIME_TYPES, UNSUPPORTED_FILE_NOTICE

log = logging.getLogger("ctreflex.sms")


def webhook_number(
    session: Session, kind: str, params: dict[str, str]
) -> tuple[BusinessNumber, ProviderAccount] | None:
    """The SMS number a webhook is about (To of an incoming text, From of a receipt) and its
    provider account, when the AccountSid matches. None: nobody here can verify it."""
    e164 = params.get("To" if kind == "inbound" else "From", "").strip()
    account_sid = params.get("AccountSid", "").strip()
    for number in sms_numbers(session):
        if number.e164 != e164:
            continue
        try:
            acct = provider_account(number)
        except (NotConfigured, ValueError):
            return None
        if hmac.compare_digest(acct.account_sid, account_sid):
            return number, acct
    return None


def process(session: Session, event: WebhookEvent, now: dt.datetime, cache) -> Outcome:
    """One SMS event (its try already counted) through SMS_HANDLERS[event.kind], in a
    savepoint; the event's state records the result. Never raises for bad data."""
    handler = SMS_HANDLERS.get(event.kind)
    if handler is None:
        lifecycle.finish(event, EventState.UNHANDLED,
                         f"No handler for SMS {event.kind!r}; kept as received.", now)
        return Outcome()
    outcome = Outcome()
    at = event.received_at or now  # the provider called then (its webhooks carry no time)
    try:
        with session.begin_nested():
            # NUL (from %00) cannot be stored in PostgreSQL's text: U+FFFD, like the journal
            params = {k: v.replace("\x00", "\ufffd") for k, v in parse_form(event.body)}
            handler(session, event, params, outcome, at)
    except (SMSWebhookError, ValueError) as exc:
        cache.rolled_back()
        lifecycle.finish(event, EventState.REJECTED, f"Malformed SMS webhook: {exc}", now)
        return Outcome()
    except Deferred as exc:
        cache.rolled_back()
        lifecycle.defer(event, str(exc), now)
        return Outcome()
    except Refused as exc:
        cache.rolled_back()
        lifecycle.finish(event, EventState.REJECTED, str(exc), now)
        return Outcome()
    except Exception as exc:  # noqa: BLE001 - kept in the journal, tried again, then parked
        cache.rolled_back()
        log.exception("SMS webhook event %s failed", event.id)
        lifecycle.defer(event, f"{type(exc).__name__}: {exc}", now)
        return Outcome()
    lifecycle.finish(event, EventState.DONE, event.error or "", now)
    return outcome


def _number_by_e164(session: Session, e164: str) -> BusinessNumber:
    number = next((n for n in sms_numbers(session) if n.e164 == e164), None)
    if number is None:
        raise Refused(f"No SMS number here is {e164}.")
    return number


def _media_kind(content_type: str) -> str:
    major = (content_type or "").split("/")[0]
    return {"image": "image", "video": "video"}.get(major, "document")


def _inbound_media_refusal(content_type: str) -> str | None:
    """Why a customer's MMS file is not fetched at all (its declared type is not one the inbox
    keeps), or None. The bytes are checked again once fetched (media.store_bytes)."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in INBOUND_MIME_TYPES[_media_kind(declared)]:
        return f"declared as {declared[:60] or 'no type'}"
    return None


def handle_inbound(
    session: Session, event: WebhookEvent, params: dict, outcome: Outcome, now: dt.datetime
) -> None:
    msg: InboundSMS = parse_inbound(params)
    number = _number_by_e164(session, msg.to)
    acct = provider_account(number)
    if acct.account_sid != msg.account_sid:
        raise Refused(f"AccountSid {msg.account_sid} does not own {msg.to}.")
    event.account_id = number.account_id
    pid = provider_id(msg.message_sid)
    if rows.by_provider_id(session, pid) is not None:
        return  # a duplicate delivery
    plan = rows.account_plan(session, number.account_id)
    contact = rows.contact_for(session, number.account_id, msg.from_)
    conv = rows.conversation_for(session, contact=contact, number=number, channel="sms")

    media_id = None
    kind, body = ("mms" if msg.media else "text"), msg.body
    refusal = _inbound_media_refusal(msg.media[0].content_type) if msg.media else None
    if refusal:  # never fetched nor served: the notice in its place, the text kept after it
        first_name = (contact.name or contact.profile_name or "The customer").split()[0]
        kind = "unsupported"
        body = f"{first_name} {UNSUPPORTED_FILE_NOTICE} ({refusal})" + (
            f": {msg.body}" if msg.body else ""
        )
    elif msg.media:
        first = msg.media[0]
        placeholder = MediaFile(
            account_id=number.account_id,
            kind=_media_kind(first.content_type),
            mime_type=first.content_type or "application/octet-stream",
            size=0,
            sha256="",
            state="pending",
        )
        session.add(placeholder)
        session.flush()
        media_id = placeholder.id
        outcome.media_to_fetch.append(placeholder.id)
    message = Message(
        **rows.message_values(
            account_id=number.account_id, conversation_id=conv.id, number_id=number.id,
            channel="sms", kind=kind, body=body, provider_message_id=pid, at=now,
        ),
        media_id=media_id,
        payload={"media": [m.model_dump() for m in msg.media]} if msg.media else None,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return  # the same MessageSid stored by a concurrent delivery
    rows.record_usage(session, message, plan, now)
    preview = msg.body or ("Photo" if msg.media else "Text")
    rows.touch_conversation(session, conv, at=now, preview=preview, number_id=number.id,
                            channel="sms", opens_window=False)
    session.add(conv)
    _apply_keyword(session, contact, conv, number, now, text=msg.body)
    outcome.live.append(rows.live_message(conv.account_id, conv.id, message.id))


def _apply_keyword(
    session: Session,
    contact: Contact,
    conv: Conversation,
    number: BusinessNumber,
    now: dt.datetime,
    text: str,
) -> None:
    intent = optouts.sms_keyword(text)
    if intent is None or (intent == "in" and not contact.sms_opted_out):
        return  # "Yes" from a subscribed customer is an answer, not a consent change
    optouts.record(
        session=session,
        contact_id=contact.id,
        channel="sms",
        scope="all",
        action=intent,
        source=f'SMS keyword "{text.strip()[:20]}"',
        at=now,
    )
    # The provider answers STOP/START itself (carrier rules); mirror its reply in the thread.
    reply = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        business_number_id=number.id,
        direction="outbound",
        channel="sms",
        kind="text",
        body=optouts.STOP_CONFIRMATION if intent == "out" else optouts.START_CONFIRMATION,
        payload={"auto_reply": "opt_" + intent, "sent_by": "provider"},
        status="sent",
        created_at=now + dt.timedelta(microseconds=1),
        sent_at=now,
    )
    session.add(reply)
    session.flush()


def apply_status(message: Message, status: str, code: int | None, at: dt.datetime) -> bool:
    """Move forward only; failed is terminal. True when the message changed."""
    if message.status == "failed":
        return False
    if status == "failed":
        message.status = "failed"
        message.failed_at = at
        message.error_code = code
        title, hint = describe(code)
        message.error_title = title[:255]
        message.error_detail = hint
        return True
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False
    changed = False
    stamp = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}.get(status)
    if stamp and getattr(message, stamp) is None:
        setattr(message, stamp, at)
        changed = True
    if rank > STATUS_RANK.get(message.status, 0):
        message.status = status
        changed = True
    return changed


def handle_status(
    session: Session, event: WebhookEvent, params: dict, outcome: Outcome, now: dt.datetime
) -> None:
    st = parse_status(params)
    message = rows.by_provider_id(session, provider_id(st.message_sid))
    if message is None:
        raise Deferred(f"status {st.message_status} for {st.message_sid}, not stored yet")
    event.account_id = message.account_id
    number = session.get(BusinessNumber, message.business_number_id)
    if number is None or provider_account(number).account_sid != st.account_sid:
        raise Refused(f"status for {st.message_sid} from another provider account")
    new = st.inbox_status
    if new is None:
        return  # e.g. "receiving": nothing this inbox tracks
    if apply_status(message, new, st.error_code, now):
        session.add(message)
        outcome.live.append(rows.live_status(message))


SMS_HANDLERS: dict[str, Callable[..., None]] = {
    "inbound": handle_inbound,
    "status": handle_status,
}


async def fetch_mms_media(media_id: int) -> None:
    """Download an incoming MMS file from the provider into the media store."""
    with db.session_scope() as session:
        row = session.exec(
            select(MediaFile, Message, BusinessNumber)
            .join(Message, Message.media_id == MediaFile.id)
            .join(BusinessNumber, BusinessNumber.id == Message.business_number_id)
            .where(MediaFile.id == media_id)
        ).first()
        if row is None:
            return
        mf, message, number = row
        items = (message.payload or {}).get("media") or []
        url = items[0]["url"] if items else ""
        account_id, conv_id = mf.account_id, message.conversation_id
        client = client_for(number)
    error, data, ctype = "", b"", ""
    try:
        data, ctype = await client.download_media(url, max_bytes=MMS_MAX_BYTES)
    except SMSError as exc:
        error = f"Could not download the customer's file: {exc}"
    with db.session_scope() as session:
        mf = session.get(MediaFile, media_id)
        if error or not data:
            mf.state, mf.fetch_error = "failed", (error or "The file is empty.")[:1000]
            session.add(mf)
        else:
            if ctype:
                mf.mime_type = ctype
            mf.filename = mf.filename or f"mms.{mf.mime_type.split('/')[-1]}"
            media.store_bytes(session=session, media=mf, data=data)
    await broker.publish(
        account_id, {"type": "media", "conversation_id": conv_id, "media_id": media_id}
    )
