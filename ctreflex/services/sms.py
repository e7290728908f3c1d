"""The SMS channel: ingest of the provider's webhooks, sending, and channel switching.

One conversation per customer and account spans SMS and WhatsApp: an SMS lands in the same
conversation as the contact's WhatsApp messages, with Message.channel = "sms". Provider ids are
stored prefixed ("sms:SM…") so they never collide with a wamid.

Webhooks are journaled (WebhookEvent, provider "sms") before the answer, then processed right
away through SMS_HANDLERS. While in flight an SMS event is in state "sms_pending" or
"sms_retry" (not "pending"/"retry", which the WhatsApp processor would take and reject); it
ends "done", "rejected", "unhandled" or "dead" (after the bounded retries, parked for an
admin's Retry or Discard) like a WhatsApp event. `replay_due` takes deferred events again (a
receipt that came before its message's id was stored); it runs after every SMS webhook and
every send, and can be scheduled as a job.

There is no 24-hour window on SMS, and no platform fee (UsageRecord.fee_minor = 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

import phonenumbers
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from ctreflex import db
from ctreflex.models import (
    STATUS_RANK,
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    Template,
    WebhookEvent,
    utc_now,
)
from ctreflex.realtime import broker
from ctreflex.services import assignment, ingest, media, optouts, phones
from ctreflex.services import status as team_status
from ctreflex.services.crypto import decrypt
from ctreflex.services.ingest import Deferred, Outcome, Refused
from ctreflex.services.outbound import SendRefused, window_open
from ctreflex.settings import get_settings
from ctreflex.sms import (
    InboundSMS,
    SMSAPIError,
    SMSClient,
    SMSError,
    SMSWebhookError,
    describe,
    parse_form,
    parse_inbound,
    parse_status,
)
from ctreflex.sms.models import MessageResource
from ctreflex.whatsapp.limits import INBOUND_MIME_TYPES, UNSUPPORTED_FILE_NOTICE

log = logging.getLogger("ctreflex.sms")

PREFIX = "sms:"
MAX_BODY = 1600
MB = 1_000_000
MMS_MAX_BYTES = 5 * MB
MMS_REGIONS = frozenset({"US", "CA"})
MMS_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
MEDIA_URL_TTL = 300  # seconds a signed MediaUrl stays valid for the provider's fetch
# an outbound SMS whose provider may still fetch its photo (not yet sent, delivered or failed)
MEDIA_WAITING_STATUSES = frozenset({"pending", "queued", "unconfirmed", "accepted"})
RESENDABLE_CODES = {
    131026: "WhatsApp could not deliver it",
    131047: "the 24-hour window was closed",
    131049: "WhatsApp blocks marketing templates to US numbers",
}

PENDING, RETRY = "sms_pending", "sms_retry"
STALE_PENDING = dt.timedelta(minutes=2)  # a pending event this old was left by a crash


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


def _parsed(e164: str):
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def recipient_refusal(contact: Contact) -> str | None:
    """Why this contact's number cannot receive an SMS, or None."""
    num = _parsed(contact.e164)
    if num is None or not phonenumbers.is_valid_number(num):
        return f"{phones.format_international(contact.e164)} is not a valid mobile number for SMS."
    if phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return (
            f"{phones.format_international(contact.e164)} is a landline: it cannot receive "
            "SMS. Use WhatsApp or call the customer."
        )
    return None


def mms_allowed(contact: Contact) -> bool:
    num = _parsed(contact.e164)
    return num is not None and phonenumbers.region_code_for_number(num) in MMS_REGIONS


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

    wa_reason = ""
    if not plan.whatsapp_included:
        wa_reason = f"Your plan ({plan.name}) does not include WhatsApp."
    elif not account.early_access:
        wa_reason = "WhatsApp is in early access and not enabled for your account."
    elif not account.payment_method_on_file:
        wa_reason = "Add a payment method to your WhatsApp Business Account in Meta first."
    elif not session.exec(
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
        sms_reason = recipient_refusal(contact) or ""
        if not sms_reason:
            ok, why = optouts.can_send(
                session=session, contact_id=contact.id, channel="sms", marketing=False
            )
            sms_reason = "" if ok else why
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


# ------------------------------------------------------------------------------ ingest


def journal(*, session: Session, kind: str, body: bytes, account_id: int | None) -> WebhookEvent:
    event = WebhookEvent(
        provider="sms",
        body=body.decode("utf-8", errors="replace"),
        body_sha256=hashlib.sha256(body).hexdigest(),
        kind=kind,
        state=PENDING,
        account_id=account_id,
    )
    session.add(event)
    session.commit()
    return event


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


def process_event(*, session: Session, event_id: int, now: dt.datetime | None = None) -> Outcome:
    """Turn one journaled SMS event into rows. Never raises for bad data."""
    now = now or utc_now()
    event = session.get(WebhookEvent, event_id)
    outcome = Outcome()
    if event is None or event.provider != "sms" or event.state not in (PENDING, RETRY):
        return outcome
    event.attempts += 1
    handler = SMS_HANDLERS.get(event.kind)
    if handler is None:
        _finish(session, event, "unhandled", f"No handler for SMS {event.kind!r}; kept.", now)
        return outcome
    try:
        # NUL (from %00) cannot be stored in PostgreSQL's text: U+FFFD, like the journal does
        params = {k: v.replace("\x00", "\ufffd") for k, v in parse_form(event.body)}
        handler(session, event, params, outcome, now)
        session.flush()
    except (SMSWebhookError, ValueError) as exc:
        session.rollback()
        event = session.get(WebhookEvent, event_id)
        _finish(session, event, "rejected", f"Malformed SMS webhook: {exc}", now)
        return Outcome()
    except Deferred as exc:
        session.rollback()
        _defer(session, session.get(WebhookEvent, event_id), str(exc), now)
        return Outcome()
    except Refused as exc:
        session.rollback()
        _finish(session, session.get(WebhookEvent, event_id), "rejected", str(exc), now)
        return Outcome()
    except Exception as exc:  # noqa: BLE001 - kept in the journal, replayed
        session.rollback()
        log.exception("SMS webhook event %s failed", event_id)
        _defer(session, session.get(WebhookEvent, event_id), f"{type(exc).__name__}: {exc}", now)
        return Outcome()
    _finish(session, event, "done", event.error if event.error else "", now)
    return outcome


def _finish(session: Session, event: WebhookEvent, state: str, error: str, now) -> None:
    event.state = state
    event.error = ingest.clean_text(error)[:2000]
    event.processed_at = now
    event.next_attempt_at = None
    session.add(event)
    session.commit()


def _defer(session: Session, event: WebhookEvent, reason: str, now: dt.datetime) -> None:
    event.attempts += 1  # the rolled-back increment
    reason = ingest.clean_text(reason)
    event.error = reason[:2000]
    delays = ingest.RETRY_DELAYS
    if event.attempts > len(delays):  # parked for an admin's Retry or Discard
        event.state, event.next_attempt_at = "dead", None
        event.error = f"Parked after {event.attempts} tries: {reason}"[:2000]
    else:
        event.state = RETRY
        event.next_attempt_at = now + dt.timedelta(seconds=delays[event.attempts - 1])
    session.add(event)
    session.commit()


def due_event_ids(*, session: Session, now: dt.datetime | None = None) -> list[int]:
    now = now or utc_now()
    return list(
        session.exec(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.provider == "sms",
                or_(
                    (WebhookEvent.state == RETRY) & (WebhookEvent.next_attempt_at <= now),
                    (WebhookEvent.state == PENDING)
                    & (WebhookEvent.received_at <= now - STALE_PENDING),
                ),
            )
            .order_by(WebhookEvent.id)
            .limit(500)
        ).all()
    )


def replay_due(now: dt.datetime | None = None) -> Outcome:
    """Process deferred SMS events that are due (synchronous; run it in a thread)."""
    total = Outcome()
    with _gate("processing"), db.session_scope() as session:
        for event_id in due_event_ids(session=session, now=now):
            out = process_event(session=session, event_id=event_id, now=now)
            total.live.extend(out.live)
            total.media_to_fetch.extend(out.media_to_fetch)
    return total


def replay_waiting_for(sid: str) -> Outcome:
    """Process now the deferred receipts that name this message (they beat the send's answer),
    whatever their retry time."""
    total = Outcome()
    with _gate("processing"), db.session_scope() as session:
        ids = session.exec(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.provider == "sms",
                WebhookEvent.state == RETRY,
                WebhookEvent.body.contains(sid),
            )
            .order_by(WebhookEvent.id)
        ).all()
        for event_id in ids:
            out = process_event(session=session, event_id=event_id)
            total.live.extend(out.live)
            total.media_to_fetch.extend(out.media_to_fetch)
    return total


def _gate(kind: str):
    """The ingest write gate (one SQLite writer at a time, the journal first) when present."""
    gate = getattr(ingest, "write_gate", None)
    return getattr(gate, kind)() if gate is not None else contextlib.nullcontext()


def receive(kind: str, body: bytes, account_id: int | None, now=None) -> tuple[int, Outcome]:
    """Journal a verified webhook, process it and what else is due (sync; run in a thread)."""
    with _gate("journal"), db.session_scope() as session:
        event_id = journal(session=session, kind=kind, body=body, account_id=account_id).id
    with _gate("processing"), db.session_scope() as session:
        outcome = process_event(session=session, event_id=event_id, now=now)
    more = replay_due(now)
    outcome.live.extend(more.live)
    outcome.media_to_fetch.extend(more.media_to_fetch)
    return event_id, outcome


async def publish(outcome: Outcome) -> None:
    seen = set()
    for account_id, event in outcome.live:
        key = (account_id, tuple(sorted(event.items())))
        if key not in seen:
            seen.add(key)
            await broker.publish(account_id, event)


def _plan(session: Session, account_id: int) -> Plan:
    return session.exec(
        select(Plan).join(Account, Account.plan_id == Plan.id).where(Account.id == account_id)
    ).one()


def _number_by_e164(session: Session, e164: str) -> BusinessNumber:
    number = next((n for n in sms_numbers(session) if n.e164 == e164), None)
    if number is None:
        raise Refused(f"No SMS number here is {e164}.")
    return number


def _contact(session: Session, account_id: int, raw: str) -> Contact:
    try:
        phone = phones.parse(raw)
        e164, region = phone.e164, phone.region
    except phones.InvalidPhoneNumber:
        e164, region = "+" + "".join(ch for ch in raw if ch.isdigit())[:18], ""
    contact = session.exec(
        select(Contact).where(Contact.account_id == account_id, Contact.e164 == e164)
    ).first()
    if contact is None:
        contact = Contact(account_id=account_id, e164=e164, region=region)
        session.add(contact)
        session.flush()
    return contact


def _by_provider_id(session: Session, pid: str) -> Message | None:
    return session.exec(select(Message).where(Message.provider_message_id == pid)).first()


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
    if _by_provider_id(session, pid) is not None:
        return  # a duplicate delivery
    plan = _plan(session, number.account_id)
    contact = _contact(session, number.account_id, msg.from_)
    conv = ingest.conversation_for(session, contact=contact, number=number, channel="sms")

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
        account_id=number.account_id,
        conversation_id=conv.id,
        business_number_id=number.id,
        direction="inbound",
        channel="sms",
        kind=kind,
        body=body,
        media_id=media_id,
        payload={"media": [m.model_dump() for m in msg.media]} if msg.media else None,
        provider_message_id=pid,
        status="received",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return  # the same MessageSid stored by a concurrent delivery
    ingest.record_usage(session, message, plan, now)

    if conv.last_message_at is None or now >= conv.last_message_at:
        conv.last_message_at = now
        conv.last_preview = (msg.body or ("Photo" if msg.media else "Text"))[:200]
        conv.channel = "sms"  # reply on the channel the customer last used
        conv.business_number_id = number.id
    conv.unread_count += 1
    team_status.reopen_on_customer_message(session, conv, now)  # team inbox: reopens it
    session.add(conv)
    _apply_keyword(session, contact, conv, number, message, now, text=msg.body)
    outcome.live.append(
        (conv.account_id, {"type": "message", "conversation_id": conv.id, "message_id": message.id})
    )


def _apply_keyword(
    session: Session,
    contact: Contact,
    conv: Conversation,
    number: BusinessNumber,
    message: Message,
    now: dt.datetime,
    text: str | None = None,
) -> None:
    text = message.body if text is None else text
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
    message = _by_provider_id(session, provider_id(st.message_sid))
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
        outcome.live.append(
            (
                message.account_id,
                {
                    "type": "status",
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                },
            )
        )


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
    refusal = recipient_refusal(t.contact)
    if refusal:
        raise SendRefused(refusal, "to")
    ok, reason = optouts.can_send(
        session=session, contact_id=t.contact.id, channel="sms", marketing=marketing
    )
    if not ok:
        raise SendRefused(reason, "optout")
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
            ingest.record_usage(
                session, message, _plan(session, message.account_id), message.created_at
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
        {"type": "message", "conversation_id": conversation_id, "message_id": message_id},
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
    if result is not None:  # receipts that beat the answer
        await publish(await asyncio.to_thread(replay_waiting_for, result.sid))
    await publish(await asyncio.to_thread(replay_due))
    return message_id


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
