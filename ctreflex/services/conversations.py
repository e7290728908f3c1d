"""Conversation list and threads as small view rows."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, utc_now
from ctreflex.services import phones
from ctreflex.services.timefmt import format_local, window_label


@dataclasses.dataclass(frozen=True)
class ConversationRow:
    id: int
    name: str
    number: str
    country: str
    preview: str
    unread: int
    channel: str
    last_at: str
    window_state: str  # open, closing, closed, none
    window_text: str


def window_state(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    if expires_at is None or expires_at <= now:
        return "closed" if expires_at else "none"
    if expires_at - now <= dt.timedelta(hours=2):
        return "closing"
    return "open"


def list_rows(
    *, session: Session, account_id: int, tz: str, now: dt.datetime | None = None, limit: int = 200
) -> list[ConversationRow]:
    now = now or utc_now()
    rows = session.exec(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.account_id == account_id)
        .order_by(Conversation.last_message_at.desc())
        .limit(limit)
    ).all()
    out = []
    for conv, contact in rows:
        try:
            country = phones.parse(contact.e164).country
        except phones.InvalidPhoneNumber:
            country = ""
        out.append(
            ConversationRow(
                id=conv.id,
                name=contact.name
                or contact.profile_name
                or phones.format_international(contact.e164),
                number=phones.format_international(contact.e164),
                country=country,
                preview=conv.last_preview,
                unread=conv.unread_count,
                channel=conv.channel,
                last_at=format_local(conv.last_message_at, tz, now=now),
                window_state=window_state(conv.window_expires_at, now),
                window_text=window_label(conv.window_expires_at, now),
            )
        )
    return out
