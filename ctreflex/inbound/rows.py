"""The rows an inbound message touches, built one way for every path: the contact, the one
conversation per customer and account, the message, its usage record, the conversation's
preview/unread/window, and the live events published after the commit.

Buys: the set-based fast path and the per-event paths (WhatsApp and SMS) write the same
columns from the same helpers. Guarded by tests/unit/test_ingest.py
(test_fast_path_gives_the_same_rows_as_the_per_event_path) and tests/sms/test_sms_ingest.py.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlmodel import Session, select

from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    Plan,
    UsageRecord,
    utc_now,
)
from ctreflex.services import phones
from ctreflex.services import status as team_status

WINDOW = dt.timedelta(hours=24)


@functools.lru_cache(maxsize=4096)
def e164_region(raw: str) -> tuple[str, str]:
    """(E.164, region) of a WhatsApp id or an SMS sender; digits kept when it does not parse."""
    try:
        phone = phones.parse(raw)
        return phone.e164, phone.region
    except phones.InvalidPhoneNumber:
        return "+" + "".join(ch for ch in raw if ch.isdigit())[:18], ""


def refresh_contact(contact: Contact, wa_id: str | None, profile_name: str) -> None:
    """What a message tells about a known customer: their WhatsApp profile name and id."""
    if profile_name and contact.profile_name != profile_name:
        contact.profile_name = profile_name
        contact.name = contact.name or profile_name
    if wa_id and not contact.wa_id:
        contact.wa_id = wa_id


def contact_for(
    session: Session, account_id: int, raw: str, *, wa_id: str | None = None,
    profile_name: str = "",
) -> Contact:
    """The account's contact for this number, created on their first message."""
    e164, region = e164_region(raw)
    contact = session.exec(
        select(Contact).where(Contact.account_id == account_id, Contact.e164 == e164)
    ).first()
    if contact is None:
        contact = Contact(
            account_id=account_id,
            e164=e164,
            region=region,
            wa_id=wa_id,
            profile_name=profile_name or "",
            name=profile_name or "",
        )
        session.add(contact)
        session.flush()
    else:
        refresh_contact(contact, wa_id, profile_name)
    return contact


def conversation_for(
    session: Session, *, contact: Contact, number: BusinessNumber, channel: str
) -> Conversation:
    """The one conversation of this customer in this account (any channel); created on their
    first message, on the channel it came by."""
    conv = session.exec(
        select(Conversation).where(
            Conversation.account_id == contact.account_id, Conversation.contact_id == contact.id
        )
    ).first()
    if conv is None:
        conv = Conversation(
            account_id=contact.account_id,
            contact_id=contact.id,
            business_number_id=number.id,
            channel=channel,
        )
        session.add(conv)
        session.flush()
    return conv


def by_provider_id(session: Session, provider_message_id: str | None) -> Message | None:
    if not provider_message_id:
        return None
    return session.exec(
        select(Message).where(Message.provider_message_id == provider_message_id)
    ).first()


def account_plan(session: Session, account_id: int) -> Plan:
    return session.exec(
        select(Plan).join(Account, Account.plan_id == Plan.id).where(Account.id == account_id)
    ).one()


def message_values(
    *,
    account_id: int,
    conversation_id: int,
    number_id: int,
    channel: str,
    kind: str,
    body: str,
    provider_message_id: str,
    at: dt.datetime,
    reply_to_id: int | None = None,
    reply_to_provider_id: str | None = None,
) -> dict:
    """The columns of an inbound message (every NOT NULL one: the fast path inserts this
    dict with Core; the per-event paths make a Message of it)."""
    return {
        "account_id": account_id,
        "conversation_id": conversation_id,
        "business_number_id": number_id,
        "direction": "inbound",
        "channel": channel,
        "kind": kind,
        "body": body,
        "provider_message_id": provider_message_id,
        "status": "received",
        "error_title": "",
        "error_detail": "",
        "reply_to_id": reply_to_id,
        "reply_to_provider_id": reply_to_provider_id,
        "reaction": "",
        "pricing_category": "",
        "created_at": at,
    }


def usage_values(
    *, account_id: int, number_id: int | None, message_id: int, channel: str, direction: str,
    plan: Plan, at: dt.datetime, now: dt.datetime,
) -> dict:
    """The usage record of a message: the plan's fee on WhatsApp, none on SMS."""
    return {
        "account_id": account_id,
        "business_number_id": number_id,
        "message_id": message_id,
        "channel": channel,
        "direction": direction,
        "day": at.astimezone(dt.UTC).date(),
        "fee_minor": plan.fee_minor if channel == "whatsapp" else 0,
        "currency": plan.currency,
        "meta_category": "",
        "created_at": now,
    }


def record_usage(
    session: Session, message: Message, plan: Plan, at: dt.datetime,
    now: dt.datetime | None = None,
) -> None:
    if session.exec(select(UsageRecord.id).where(UsageRecord.message_id == message.id)).first():
        return
    values = usage_values(
        account_id=message.account_id, number_id=message.business_number_id,
        message_id=message.id, channel=message.channel, direction=message.direction,
        plan=plan, at=at, now=now or utc_now(),
    )
    session.add(UsageRecord(**values))


def touch_conversation(
    session: Session, conv: Conversation, *, at: dt.datetime, preview: str, number_id: int,
    channel: str, opens_window: bool, unread: int = 1,
) -> None:
    """An inbound message at `at`: unread +1, the preview and the channel to answer on when it
    is the newest, and (WhatsApp) the 24-hour window from the customer's latest message.
    Several messages at once (the fast path): the newest one (the last of those at the latest
    time) with `unread` = how many. A snoozed or resolved conversation reopens (team inbox)."""
    if opens_window and (conv.last_inbound_at is None or at > conv.last_inbound_at):
        conv.last_inbound_at = at
        conv.window_expires_at = at + WINDOW
    if conv.last_message_at is None or at >= conv.last_message_at:
        conv.last_message_at = at
        conv.last_preview = preview[:200]
        conv.channel = channel  # reply on the channel the customer last used
        conv.business_number_id = number_id
    conv.unread_count += unread
    team_status.reopen_on_customer_message(session, conv, at)


def live_message(account_id: int, conversation_id: int, message_id: int) -> tuple[int, dict]:
    return account_id, {"type": "message", "conversation_id": conversation_id,
                        "message_id": message_id}


def live_status(message: Message) -> tuple[int, dict]:
    return message.account_id, {"type": "status", "conversation_id": message.conversation_id,
                                "message_id": message.id}
