"""The SMS channel: sending, the composer's channel switch, and what the provider needs from
us (its account, signed media URLs). Incoming texts and receipts go through the one journal
and processor (ctreflex/inbound/sms.py).

One conversation per customer and account spans SMS and WhatsApp: an SMS lands in the same
conversation as the contact's WhatsApp messages, with Message.channel = "sms". Provider ids are
stored prefixed ("sms:SM…") so they never collide with a wamid. A receipt that beats the
send's answer waits in the journal; the answer makes it due at once (`send_sms`).

There is no 24-hour window on SMS, and no platform fee (UsageRecord.fee_minor = 0).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
import logging
import secrets
from urllib.parse import urlencode

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound import journal, rows
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    Template,
    utc_now,
)
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import assignment, reach
from ctreflex.services.crypto import decrypt
from ctreflex.services.outbound import SendRefused, window_open
from ctreflex.settings import get_settings
from ctreflex.sms import (
    SMSAPIError,
    SMSClient,
    SMSError,
)
from ctreflex.sms.models import MessageResource

log = logging.getLogger("ctreflex.sms")

PREFIX = "sms:"
MAX_BODY = 1600
MB = 1_000_000
MMS_MAX_BYTES = 5 * MB
MMS_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
MEDIA_URL_TTL = 300  # seconds a signed MediaUrl stays valid for the provider's fetch
# an outbound SMS whose provider may still fetch its photo (not yet sent, delivered or failed)
MEDIA_WAITING_STATUSES = frozenset({"pending", "queued", "unconfirmed", "accepted"})
RESENDABLE_CODES = {
    131026: "WhatsApp could not deliver it",
    131047: "the 24-hour window was closed",
    131049: "WhatsApp blocks marketing templates to US numbers",
}



def provider_id(sid: str) -> str:
    return PREFIX + sid


# ------------------------------------------------------------------------ provider access


class NotConfigured(RuntimeError):
    """The SMS number has no usable provider account (SID and auth token)."""


@dataclasses.dataclass(frozen=True)
class ProviderAccount:
    provider: str
    account_sid: str
    auth_token: str
    base_url: str


def provider_account(number: BusinessNumber) -> ProviderAccount:
    cfg = number.sms_provider_config or {}
    sid, token = cfg.get("account_sid"), cfg.get("auth_token_encrypted")
    if not sid or not token:
        raise NotConfigured(f"The SMS number {number.e164} has no provider account configured.")
    return ProviderAccount(
        provider=str(cfg.get("provider") or "twilio"),
        account_sid=sid,
        auth_token=decrypt(token),
        base_url=(cfg.get("base_url") or get_settings().sms_api_url).rstrip("/"),
    )


_clients: dict[tuple[int, str, str], SMSClient] = {}


def client_for(number: BusinessNumber) -> SMSClient:
    """A pooled client for this number's provider account on the running event loop."""
    acct = provider_account(number)
    try:
        loop_id = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_id = 0
    key = (loop_id, acct.base_url, acct.account_sid + ":" + acct.auth_token)
    client = _clients.get(key)
    if client is None:
        client = SMSClient(acct.account_sid, acct.auth_token, base_url=acct.base_url)
        _clients[key] = client
    return client


async def close_all() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        await client.aclose()


def sms_numbers(session: Session, account_id: int | None = None) -> list[BusinessNumber]:
    query = select(BusinessNumber).where(BusinessNumber.channel == "sms")
    if account_id is not None:
        query = query.where(BusinessNumber.account_id == account_id)
    return list(session.exec(query.order_by(BusinessNumber.id)).all())


def _connected_sms_number(session: Session, account_id: int, preferred: int | None):
    numbers = [n for n in sms_numbers(session, account_id) if n.status == "connected"]
    return next((n for n in numbers if n.id == preferred), numbers[0] if numbers else None)


# -------------------------------------------------------------------- signed media URLs


# The provider fetches an MMS photo without a login, from a URL that is a capability for ONE
# outbound message: its token (itsdangerous: salted HMAC-SHA1 over the payload and a timestamp,
# keyed with the secret key) names the message, the file and a random nonce stored on the
# message, and is good for MEDIA_URL_TTL seconds while that message still waits for the
# provider. The nonce means even a known secret key forges nothing.

_MEDIA_SALT = "ctreflex.sms-media.v2"


def _media_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key.get_secret_value(), salt=_MEDIA_SALT)


def media_nonce() -> str:
    return secrets.token_urlsafe(16)


def media_url(message_id: int, media_id: int, nonce: str) -> str:
    """The URL the provider fetches message `message_id`'s photo `media_id` from."""
    token = _media_serializer().dumps({"m": message_id, "f": media_id, "n": nonce})
    return f"{get_settings().base_url}/webhooks/sms/media/{media_id}?{urlencode({'t': token})}"


def media_for_provider(
    session: Session, media_id: int, token: str, *, max_age: int | None = None
) -> MediaFile | None:
    """The file a signed MediaUrl may fetch, or None: the token must be genuine and fresh,
    name this file, and belong to an outbound SMS of this file still waiting for the provider,
    whose stored nonce it carries."""
    try:
        data = _media_serializer().loads(
            token or "", max_age=MEDIA_URL_TTL if max_age is None else max_age
        )
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("f") != media_id:
        return None
    if not isinstance(data.get("m"), int):
        return None
    message = session.get(Message, data["m"])
    if (
        message is None
        or message.channel != "sms"
        or message.direction != "outbound"
        or message.media_id != media_id
        or message.status not in MEDIA_WAITING_STATUSES
    ):
        return None
    payload = message.payload if isinstance(message.payload, dict) else {}
    nonce = payload.get("media_nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce, str(data.get("n") or "")):
        return None
    row = session.get(MediaFile, media_id)
    if row is None or row.state != "ready" or row.account_id != message.account_id:
        return None
    return row


# ----------------------------------------------------------------- who can get an SMS


def recipient_refusal(contact: Contact) -> str | None:
    """Why this contact's number cannot receive an SMS, or None (services/reach.py)."""
    refusal = reach.sms_recipient(contact)
    return refusal.message if refusal else None


mms_allowed = reach.mms_allowed  # MMS reaches US and Canadian numbers (services/reach.py)


def attachment_refusal(contact: Contact, mf: MediaFile | None) -> str | None:
    """Why this file cannot go by SMS (MMS: images up to 5 MB, to US/CA numbers), or None."""
    if mf is None or mf.state != "ready":
        return "The attachment is not available; attach it again."
    if mf.kind != "image" or mf.mime_type not in MMS_MIME_TYPES:
        what = {"video": "Videos", "document": "Documents"}.get(mf.kind, "These files")
        return f"{what} cannot be sent by SMS: only photos (JPEG, PNG or GIF) can. Use WhatsApp."
    if mf.size > MMS_MAX_BYTES:
        return f"Photos sent by SMS can be at most 5 MB; this one is {mf.size / MB:.1f} MB."
    if not mms_allowed(contact):
        return (
            "Photos by SMS (MMS) reach only US and Canadian numbers; send text only, or use "
            "WhatsApp."
        )
    return None


# ------------------------------------------------------------- the composer's channel switch


@dataclasses.dataclass(frozen=True)
class ChannelOption:
    """What one channel allows right now, for the composer's switch."""

    channel: str  # whatsapp | sms
    label: str  # WhatsApp | SMS
    available: bool  # the agent can send something on it now
    selected: bool  # the conversation's channel for the next send
    reason: str  # why not available ("" when available)
    window: str  # WhatsApp: open | closed; SMS: none
    free_form: bool  # free text allowed now (WhatsApp: window open; SMS: always)
    attachments: str  # what can be attached, in words ("" when nothing)
    max_chars: int
    note: str  # e.g. "Window closed: only approved templates"


def channel_options(
    *, session: Session, account_id: int, conversation_id: int, now: dt.datetime | None = None
) -> list[ChannelOption]:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        return []
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id)
    contact = session.get(Contact, conv.contact_id)
    out: list[ChannelOption] = []

    refusal = reach.whatsapp_account(account, plan)
    wa_reason = refusal.message if refusal else ""
    if not wa_reason and not session.exec(
        select(BusinessNumber.id).where(
            BusinessNumber.account_id == account_id,
            BusinessNumber.channel == "whatsapp",
            BusinessNumber.status == "connected",
        )
    ).first():
        wa_reason = "No connected WhatsApp number."
    if plan.whatsapp_included:  # hidden altogether on plans without WhatsApp
        is_open = window_open(conv, now)
        out.append(
            ChannelOption(
                channel="whatsapp",
                label="WhatsApp",
                available=not wa_reason,
                selected=conv.channel == "whatsapp",
                reason=wa_reason,
                window="open" if is_open else "closed",
                free_form=is_open and not wa_reason,
                attachments=(
                    "Photos (JPEG/PNG, 5 MB), videos (MP4, 16 MB), PDF (100 MB)" if is_open else ""
                ),
                max_chars=4096,
                note="" if is_open else "Window closed: only approved templates can be sent.",
            )
        )

    number = _connected_sms_number(session, account_id, conv.business_number_id)
    sms_reason = ""
    if number is None:
        sms_reason = "No SMS number is connected to this account."
    else:
        refusal = reach.sms(session, contact)  # a number that takes SMS, no STOP on record
        sms_reason = refusal.message if refusal else ""
    out.append(
        ChannelOption(
            channel="sms",
            label="SMS",
            available=not sms_reason,
            selected=conv.channel == "sms",
            reason=sms_reason,
            window="none",
            free_form=not sms_reason,
            attachments="Photos up to 5 MB (MMS)" if mms_allowed(contact) else "",
            max_chars=MAX_BODY,
            note="" if mms_allowed(contact) else "Text only: MMS reaches US and Canadian numbers.",
        )
    )
    return out


def set_channel(*, session: Session, account_id: int, conversation_id: int, channel: str) -> str:
    """The agent switches the channel of the next send. Commits; returns the channel."""
    if channel not in ("whatsapp", "sms"):
        raise SendRefused(f"Unknown channel {channel!r}.", "channel")
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        raise SendRefused("This conversation does not exist in your account.", "conversation")
    options = {
        o.channel: o
        for o in channel_options(
            session=session, account_id=account_id, conversation_id=conversation_id
        )
    }
    option = options.get(channel)
    if option is None:
        raise SendRefused("Your plan does not include WhatsApp.", "channel")
    if not option.available:
        raise SendRefused(option.reason, "channel")
    conv.channel = channel
    session.add(conv)
    session.commit()
    return channel


# ------------------------------------------------------------------------------ sending


@dataclasses.dataclass
class _Target:
    conversation: Conversation
    contact: Contact
    number: BusinessNumber


def _target(session: Session, account_id: int, conversation_id: int) -> _Target:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        raise SendRefused("This conversation does not exist in your account.", "conversation")
    number = _connected_sms_number(session, account_id, conv.business_number_id)
    if number is None:
        raise SendRefused("No SMS number is connected to this account.", "number")
    return _Target(conv, session.get(Contact, conv.contact_id), number)


def check_send(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    body: str,
    media_file_id: int | None = None,
    marketing: bool = False,
) -> _Target:
    """Every refusal of an SMS send, before any provider call (raises SendRefused)."""
    text = (body or "").strip()
    if not text and media_file_id is None:
        raise SendRefused("Type a message first.", "body")
    if len(text) > MAX_BODY:
        raise SendRefused(
            f"An SMS can be at most {MAX_BODY:,} characters; this one has {len(text):,}.", "body"
        )
    t = _target(session, account_id, conversation_id)
    refusal = reach.sms(session, t.contact, marketing=marketing)  # number, then opt-outs
    if refusal:
        raise SendRefused(refusal.message, refusal.field)
    if media_file_id is not None:
        mf = session.get(MediaFile, media_file_id)
        if mf is not None and mf.account_id != account_id:
            mf = None
        refusal = attachment_refusal(t.contact, mf)
        if refusal:
            raise SendRefused(refusal, "attachment")
    return t


def _settle(message_id: int, result: MessageResource | None, error: SMSError | None) -> Message:
    with db.session_scope() as session:
        message = session.get(Message, message_id)
        if result is not None and not result.error_code and result.status != "failed":
            message.provider_message_id = provider_id(result.sid)
            if message.status == "pending":
                message.status = "accepted"
            session.add(message)
            session.flush()
            rows.record_usage(
                session, message, rows.account_plan(session, message.account_id),
                message.created_at
            )
        elif result is None and getattr(error, "request_sent", False) is not False:
            # no answer after the request went out: it may be on its way; never sent again
            message.status = "unconfirmed"
            message.last_attempt_at = message.last_attempt_at or message.created_at
            message.last_error = str(error)[:2000]
        else:
            message.status = "failed"
            message.failed_at = utc_now()
            if result is not None:
                message.provider_message_id = provider_id(result.sid)
                error = SMSAPIError(result.error_code, result.error_message or "")
            if isinstance(error, SMSAPIError):
                message.error_code = error.code
                message.error_title = (error.title or "")[:255]
                message.error_detail = error.hint or error.message
            else:
                message.error_code = None
                message.error_title = "Could not reach the SMS provider"
                message.error_detail = str(error)
        session.add(message)
        return message


async def _publish_message(account_id: int, conversation_id: int, message_id: int) -> None:
    await broker.publish(
        account_id,
        LiveEvent.message(conversation_id, message_id),
    )


async def send_sms(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    body: str,
    media_file_id: int | None = None,
    marketing: bool = False,
    payload: dict | None = None,
    switch_channel: bool = True,
) -> int:
    """Send an SMS (an MMS with a photo) in the conversation. Stored "pending" first, then
    "accepted" with the provider's id or "failed" with its code. Returns the message id.
    Raises SendRefused (message, field) before any provider call when it cannot be sent."""
    text = (body or "").strip()
    with db.session_scope() as session:
        t = check_send(
            session=session,
            account_id=account_id,
            conversation_id=conversation_id,
            body=text,
            media_file_id=media_file_id,
            marketing=marketing,
        )
        now = utc_now()
        nonce = media_nonce() if media_file_id else ""
        message = Message(
            account_id=account_id,
            conversation_id=conversation_id,
            business_number_id=t.number.id,
            direction="outbound",
            channel="sms",
            kind="mms" if media_file_id else "text",
            body=text,
            media_id=media_file_id,
            payload={**(payload or {}), "media_nonce": nonce} if nonce else payload,
            status="pending",
            sender_user_id=user_id,
            created_at=now,
        )
        session.add(message)
        conv = t.conversation
        conv.last_message_at = now
        conv.last_preview = (text or "Photo")[:200]
        if switch_channel:  # False from the composer: the agent's pick stays as it is now
            conv.channel = "sms"
        conv.business_number_id = t.number.id
        session.add(conv)
        assignment.claim_on_reply(session, conv, user_id)  # team inbox: auto-assign on reply
        session.flush()
        message_id = message.id
        to, from_ = t.contact.e164, t.number.e164
        urls = [media_url(message_id, media_file_id, nonce)] if media_file_id else []
        client = client_for(t.number)
    await _publish_message(account_id, conversation_id, message_id)
    result, error = None, None
    try:
        result = await client.send(
            to=to,
            from_=from_,
            body=text,
            media_urls=urls,
            status_callback=get_settings().sms_status_url,
        )
    except SMSError as exc:
        error = exc
    await asyncio.to_thread(_settle, message_id, result, error)
    await _publish_message(account_id, conversation_id, message_id)
    if result is not None:  # receipts that beat the answer: due now, for the processor
        await asyncio.to_thread(_receipts_due, result.sid)
    return message_id


def _receipts_due(sid: str) -> None:
    # imported here: the processor's modules import this one (provider account, clients)
    from ctreflex.inbound.processor import processor

    with db.session_scope() as session:
        waiting = journal.make_due_now(session=session, provider="sms", mentioning=sid)
    if waiting:
        processor.notify()


# ---------------------------------------------------------------------- resend as SMS


def _is_marketing(session: Session, message: Message) -> bool:
    if message.error_code == 131049:
        return True
    if message.template_id:
        template = session.get(Template, message.template_id)
        return template is not None and template.category.upper() == "MARKETING"
    return False


def resend_refusal(*, session: Session, account_id: int, message_id: int) -> str | None:
    """Why "Resend as SMS" is not offered on this message, or None when it is."""
    old = session.get(Message, message_id)
    if old is None or old.account_id != account_id:
        return "That message does not exist in your account."
    if old.channel != "whatsapp" or old.direction != "outbound" or old.status != "failed":
        return "Only a failed WhatsApp message can be resent as SMS."
    if old.error_code not in RESENDABLE_CODES:
        return "This failure is not one that SMS can work around."
    if (old.payload or {}).get("resent_as"):
        return "This message was already resent as SMS."
    if not (old.body or "").strip():
        return "This message has no text to resend."
    try:
        check_send(
            session=session,
            account_id=account_id,
            conversation_id=old.conversation_id,
            body=old.body,
            media_file_id=old.media_id if old.kind == "image" else None,
            marketing=_is_marketing(session, old),
        )
    except SendRefused as exc:
        return exc.message
    return None


async def resend_as_sms(*, account_id: int, user_id: int, message_id: int) -> int:
    """Send a failed WhatsApp message's text (and photo, by MMS) again by SMS; link the two:
    the new message's payload has {"resent_from": old id}, the old one {"resent_as": new id}.
    Returns the new message id; raises SendRefused when it cannot be resent."""
    with db.session_scope() as session:
        refusal = resend_refusal(session=session, account_id=account_id, message_id=message_id)
        if refusal:
            raise SendRefused(refusal, "message")
        old = session.get(Message, message_id)
        body, conv_id = old.body, old.conversation_id
        media_id = old.media_id if old.kind == "image" else None
        marketing = _is_marketing(session, old)
    new_id = await send_sms(
        account_id=account_id,
        user_id=user_id,
        conversation_id=conv_id,
        body=body,
        media_file_id=media_id,
        marketing=marketing,
        payload={"resent_from": message_id},
    )
    with db.session_scope() as session:
        old = session.get(Message, message_id)
        old.payload = {**(old.payload or {}), "resent_as": new_id}
        session.add(old)
    await _publish_message(account_id, conv_id, message_id)
    return new_id
