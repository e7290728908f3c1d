"""The inbox's read side: conversation list rows, one conversation's details and its thread,
as small frozen view rows the UI renders. Plus `mark_read`. No Reflex here.

Times are stored in UTC and formatted in the account's time zone. Window expiry is also given
as epoch milliseconds so the browser can count down between server updates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import and_, case, exists, func, or_
from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, MediaFile, Message, User, utc_now
from ctreflex.models.contact import fold_for_search
from ctreflex.services import l10n, labels, phones, thread_events, timefmt
from ctreflex.services.labels import LabelChip
from ctreflex.services.outbound import send_state
from ctreflex.services.templates import PreviewView, preview_from_payload
from ctreflex.services.timefmt import format_duration, format_local, window_label, zone
from ctreflex.whatsapp.codes import describe_error
from ctreflex.whatsapp.limits import INBOUND_AUDIO_NOTICE

CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
CLOSING_SOON = dt.timedelta(hours=2)
FILTERS = ("all", "unread", "open", "closing", "closed")
SORTS = ("recent", "closing")
THREAD_LIMIT = 300


# ------------------------------------------------------------------------------ view rows


@dataclasses.dataclass(frozen=True)
class ConversationRow:
    id: int
    name: str
    initials: str
    number: str
    country: str
    region: str  # ISO code, e.g. US
    preview: str
    preview_prefix: str  # "You: " when the last message was ours
    unread: int
    channel: str
    last_at: str
    window_state: str  # open, closing, closed, none
    window_text: str  # "closes in 3 h 12 min" / "Window closed" / "No customer message yet"
    window_short: str  # "3 h 12 min" / "Closed" / "Not opened"
    window_expires_ms: int  # epoch ms, 0 when never opened
    # team inbox (services/inbox_views.py fills them in)
    assignee_id: int = 0
    assignee_name: str = ""
    status: str = "open"
    status_text: str = "Open"
    snooze_ends_ms: int = 0  # epoch ms a snooze ends (the tab reloads then), 0 when none
    labels: list[LabelChip] = dataclasses.field(default_factory=list)  # services/labels.py


@dataclasses.dataclass(frozen=True)
class ConversationDetail:
    id: int
    name: str
    first_name: str
    initials: str
    number: str
    country: str
    region: str
    profile_name: str
    wa_id: str
    channel: str
    business_number: str
    window_state: str
    window_text: str
    window_expires_ms: int
    window_closes_at: str  # local time the window closes ("" when never opened)
    first_contact: str
    last_inbound: str
    marketing_opted_out: bool
    sms_opted_out: bool
    # team inbox (services/inbox_views.py fills them in)
    assignee_id: int = 0
    assignee_name: str = ""
    status: str = "open"
    status_text: str = "Open"
    snooze_ends_ms: int = 0  # epoch ms a snooze ends (the tab reloads then), 0 when none

    @property
    def window_open(self) -> bool:
        return self.window_state in ("open", "closing")


@dataclasses.dataclass(frozen=True)
class MessageRow:
    id: int
    direction: str  # inbound, outbound
    kind: str
    body: str
    time: str  # "14:05" in the account's zone
    timestamp: str  # full local date and time, for the title tooltip
    show_day: bool  # first message of its local day: draw a separator above it
    day_label: str
    status: str  # pending, accepted, sent, delivered, read, failed, received
    status_label: str
    sender: str  # agent name for outbound, contact name for inbound
    # failure
    failed: bool
    error_title: str
    error_plain: str
    error_todo: str
    retryable: bool
    # reply quote
    has_reply: bool
    reply_missing: bool
    reply_author: str
    reply_snippet: str
    reaction: str
    # media
    media_id: int
    media_kind: str  # image, video, document, ""
    media_url: str
    media_download_url: str
    media_name: str
    media_size: str
    # notices (audio, sticker, unsupported, system…) and small extras
    is_notice: bool
    notice_icon: str
    notice_text: str
    tag: str  # "Quick reply", "Template", "Location"… shown above the body
    link: str  # e.g. a map link for a location
    # channels (one conversation spans WhatsApp and SMS)
    channel: str = "whatsapp"  # whatsapp | sms
    channel_label: str = "WhatsApp"
    switch_label: str = ""  # "Switched to SMS" above the first message after a change
    # a sent template, drawn like the picker's preview
    is_template: bool = False
    template: PreviewView = dataclasses.field(default_factory=PreviewView)
    # "Resend as SMS" (a failed WhatsApp message) and the link between the two messages
    resend_offered: bool = False
    resent_as_id: int = 0
    resent_from_id: int = 0
    # sends Meta refused for now (the outbox retries them) or never confirmed (outbound.py)
    queued: bool = False
    retry_line: str = ""  # "Not sent yet: … Retrying at 14:05 (attempt 2 of 5)."
    unconfirmed: bool = False
    unconfirmed_title: str = ""
    unconfirmed_text: str = ""
    # the business's own reaction to this message (services/reactions.py)
    my_reaction: str = ""


@dataclasses.dataclass(frozen=True)
class LedgerEntry:
    """One line of the contact panel's consent history (newest first)."""

    id: int
    summary: str  # "Opted out of all SMS"
    source: str  # 'SMS keyword "STOP"'
    when: str  # local date and time
    action: str  # out | in


STATUS_LABELS = {
    "pending": "Sending",
    "accepted": "Sent to WhatsApp",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "failed": "Not delivered",
    "received": "Received",
    "queued": "Waiting to retry",
    "unconfirmed": "Sent? Waiting for confirmation",
}

# Inbound kinds the channel can't show: a notice bubble in place of the content.
NOTICE_KINDS = {
    "audio": ("mic-off", INBOUND_AUDIO_NOTICE),
    "voice": ("mic-off", INBOUND_AUDIO_NOTICE),
    "sticker": ("sticker", "sent a sticker, which this channel does not show"),
    "unsupported": ("circle-help", "sent a message this channel does not support"),
    "order": ("shopping-cart", "sent an order, which this inbox cannot show yet"),
    "system": ("info", ""),
    "call": ("phone-off", "tried to call; calls are not supported on this channel"),
    "group": ("users", "wrote in a group; groups are not supported on this channel"),
}
MEDIA_LABELS = {"image": "Photo", "video": "Video", "document": "Document"}


# ------------------------------------------------------------------------------ helpers


def window_state(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    if expires_at is None:
        return "none"
    if expires_at <= now:
        return "closed"
    if expires_at - now <= CLOSING_SOON:
        return "closing"
    return "open"


def window_short(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    if expires_at is None:
        return "Not opened"
    if expires_at <= now:
        return "Closed"
    return format_duration(expires_at - now).replace("less than a minute", "< 1 min")


def _epoch_ms(at: dt.datetime | None) -> int:
    return int(at.timestamp() * 1000) if at else 0


def _initials(name: str) -> str:
    parts = [p for p in name.replace("+", " ").split() if p and p[0].isalpha()]
    return "".join(p[0] for p in parts[:2]).upper() or "#"


def _contact_name(contact: Contact) -> str:
    return contact.name or contact.profile_name or phones.format_international(contact.e164)


def _country(contact: Contact) -> tuple[str, str]:
    """(country name, region code) for a contact's number."""
    try:
        phone = phones.parse(contact.e164)
    except phones.InvalidPhoneNumber:
        return "", contact.region
    region = phone.region or contact.region
    country = phone.country
    if region and country in ("", region):  # the geocoder knows no name for some mobiles
        country = l10n.region_name(region) or country
    return country, region


human_size = l10n.file_size
_day_label = timefmt.day_label


def _search_clause(query: str):
    """Name (accents and case ignored: "sofia" finds "Sofía"), number ("+34" finds Spanish
    numbers, "612 34" finds +34 612 345 678) or message text."""
    q = " ".join(query.split()).lower()
    if not q:
        return None
    text_match = exists().where(
        and_(
            Message.conversation_id == Conversation.id,
            func.lower(Message.body).contains(q, autoescape=True),
        )
    )
    clauses = [
        Contact.search_key.contains(fold_for_search(q), autoescape=True),
        func.lower(Contact.name).contains(q, autoescape=True),
        func.lower(Contact.profile_name).contains(q, autoescape=True),
        text_match,
    ]
    digits = "".join(c for c in q if c.isdigit())
    looks_like_number = bool(digits) and not any(c.isalpha() for c in q)
    if looks_like_number and q.startswith("+"):
        clauses.append(Contact.e164.startswith("+" + digits, autoescape=True))
    elif looks_like_number and len(digits) >= 3:
        clauses.append(Contact.e164.contains(digits, autoescape=True))
    return or_(*clauses)


def _filter_clause(name: str, now: dt.datetime):
    expires = Conversation.window_expires_at
    if name == "unread":
        return Conversation.unread_count > 0
    if name == "open":
        return expires > now
    if name == "closing":
        return and_(expires > now, expires <= now + CLOSING_SOON)
    if name == "closed":
        return or_(expires.is_(None), expires <= now)
    return None


# ------------------------------------------------------------------------------ list


def list_rows(
    *,
    session: Session,
    account_id: int,
    tz: str,
    query: str = "",
    filter: str = "all",  # noqa: A002 - the UI's word
    sort: str = "recent",
    now: dt.datetime | None = None,
    limit: int = 200,
    where: tuple | list = (),  # more clauses (the team inbox's views, labels, mentions)
) -> list[ConversationRow]:
    """The account's conversations, searched (name, number, message text), filtered and
    sorted (latest activity first, or the windows that close soonest first)."""
    now = now or utc_now()
    stmt = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.account_id == account_id)
    )
    if (clause := _search_clause(query)) is not None:
        stmt = stmt.where(clause)
    if (clause := _filter_clause(filter, now)) is not None:
        stmt = stmt.where(clause)
    for clause in where:
        stmt = stmt.where(clause)
    if sort == "closing":
        still_open = case((Conversation.window_expires_at > now, 0), else_=1)
        stmt = stmt.order_by(
            still_open,
            case((Conversation.window_expires_at > now, Conversation.window_expires_at)),
            Conversation.last_message_at.desc(),
            Conversation.id.desc(),
        )
    else:
        stmt = stmt.order_by(
            Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc()
        )
    pairs = session.exec(stmt.limit(limit)).all()
    last_dirs = _last_directions(session, [conv.id for conv, _ in pairs])
    rows = [_row(conv, contact, tz, now, last_dirs.get(conv.id, "")) for conv, contact in pairs]
    return labels.with_labels(session, account_id, rows)


def _last_directions(session: Session, conversation_ids: list[int]) -> dict[int, str]:
    """Direction of each conversation's latest message, by time as the preview is (for the
    "You:" preview prefix; ids are not in time order: a provider's reply can be stored later)."""
    if not conversation_ids:
        return {}
    latest = (
        select(Message.conversation_id, func.max(Message.created_at).label("at"))
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = session.exec(
        select(Message.conversation_id, Message.direction)
        .join(
            latest,
            and_(
                latest.c.conversation_id == Message.conversation_id,
                latest.c.at == Message.created_at,
            ),
        )
        .order_by(Message.id)
    ).all()
    return {cid: direction for cid, direction in rows}  # the highest id wins a tie


def _row(
    conv: Conversation, contact: Contact, tz: str, now: dt.datetime, last_dir: str
) -> ConversationRow:
    name = _contact_name(contact)
    country, region = _country(contact)
    return ConversationRow(
        id=conv.id,
        name=name,
        initials=_initials(name),
        number=phones.format_international(contact.e164),
        country=country,
        region=region,
        preview=conv.last_preview,
        preview_prefix="You: " if last_dir == "outbound" else "",
        unread=conv.unread_count,
        channel=conv.channel,
        last_at=format_local(conv.last_message_at, tz, now=now),
        window_state=window_state(conv.window_expires_at, now),
        window_text=window_label(conv.window_expires_at, now),
        window_short=window_short(conv.window_expires_at, now),
        window_expires_ms=_epoch_ms(conv.window_expires_at),
    )


def filter_counts(
    *, session: Session, account_id: int, now: dt.datetime | None = None, where=()
) -> dict:
    """How many conversations each filter would show (for the filter tabs), in one query."""
    now = now or utc_now()
    columns = []
    for name in FILTERS:
        clause = _filter_clause(name, now)
        columns.append(
            func.count()
            if clause is None
            else func.coalesce(func.sum(case((clause, 1), else_=0)), 0)
        )
    row = session.exec(
        select(*columns).where(Conversation.account_id == account_id, *where)
    ).one()
    return {name: int(value or 0) for name, value in zip(FILTERS, row, strict=True)}


def next_list_change(rows: list[ConversationRow], now: dt.datetime) -> float | None:
    """Seconds until a listed window changes state (opens→closing soon→closed), if any."""
    now_ms = _epoch_ms(now)
    soonest = None
    for row in rows:
        if not row.window_expires_ms:
            continue
        for edge in (
            row.window_expires_ms - int(CLOSING_SOON.total_seconds() * 1000),
            row.window_expires_ms,
        ):
            if edge > now_ms and (soonest is None or edge < soonest):
                soonest = edge
    return None if soonest is None else (soonest - now_ms) / 1000


# ------------------------------------------------------------------------------ one conversation


def get_detail(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    tz: str,
    now: dt.datetime | None = None,
) -> ConversationDetail | None:
    """The conversation's header and contact panel, or None if it isn't this account's."""
    now = now or utc_now()
    pair = session.exec(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id == conversation_id, Conversation.account_id == account_id)
    ).first()
    if pair is None:
        return None
    conv, contact = pair
    name = _contact_name(contact)
    country, region = _country(contact)
    business = ""
    if conv.business_number_id:
        from ctreflex.models import BusinessNumber

        number = session.get(BusinessNumber, conv.business_number_id)
        if number is not None:
            label = number.display_name or number.verified_name
            pretty = phones.format_international(number.e164)
            business = f"{label} ({pretty})" if label else pretty
    local = zone(tz)
    expires = conv.window_expires_at
    return ConversationDetail(
        id=conv.id,
        name=name,
        first_name=name.split()[0] if contact.name or contact.profile_name else name,
        initials=_initials(name),
        number=phones.format_international(contact.e164),
        country=country,
        region=region,
        profile_name=contact.profile_name,
        wa_id=contact.wa_id or "",
        channel=conv.channel,
        business_number=business,
        window_state=window_state(expires, now),
        window_text=window_label(expires, now),
        window_expires_ms=_epoch_ms(expires),
        window_closes_at=_full_local(expires, local) if expires else "",
        first_contact=_date_local(_first_contact_at(session, contact, conv), local),
        last_inbound=_full_local(conv.last_inbound_at, local) if conv.last_inbound_at else "",
        marketing_opted_out=contact.marketing_opted_out,
        sms_opted_out=contact.sms_opted_out,
    )


def _first_contact_at(session: Session, contact: Contact, conv: Conversation) -> dt.datetime:
    """The earliest message with this contact (any conversation, any channel); the rows'
    own dates only when there is no message yet (imported contacts carry their import date)."""
    first = session.exec(
        select(func.min(Message.created_at))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.contact_id == contact.id)
    ).first()
    if first is not None:
        if first.tzinfo is None:  # SQLite aggregates come back naive (stored as UTC)
            first = first.replace(tzinfo=dt.UTC)
        return first
    return min(contact.created_at, conv.created_at)


_date_local = timefmt.long_date
_full_local = timefmt.full_stamp


def window_seconds_left(
    *, session: Session, account_id: int, conversation_id: int, now: dt.datetime | None = None
) -> float | None:
    """Seconds until the conversation's window closes; None when it is closed or never opened."""
    now = now or utc_now()
    expires = session.exec(
        select(Conversation.window_expires_at).where(
            Conversation.id == conversation_id, Conversation.account_id == account_id
        )
    ).first()
    if expires is None or expires <= now:
        return None
    return (expires - now).total_seconds()


def mark_read(*, session: Session, account_id: int, conversation_id: int) -> bool:
    """Set the unread count to 0. Returns True when it changed. Publishes nothing: reading is
    private to the agent's tab."""
    conv = session.exec(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.account_id == account_id
        )
    ).first()
    if conv is None or conv.unread_count == 0:
        return False
    conv.unread_count = 0
    session.add(conv)
    session.commit()
    return True


# ------------------------------------------------------------------------------ thread


def thread_rows(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    tz: str,
    now: dt.datetime | None = None,
    limit: int = THREAD_LIMIT,
) -> list[MessageRow]:
    """The latest `limit` messages, oldest first, with day separators and reply quotes."""
    now = now or utc_now()
    pair = session.exec(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id == conversation_id, Conversation.account_id == account_id)
    ).first()
    if pair is None:
        return []
    _conv, contact = pair
    contact_name = _contact_name(contact)
    first_name = contact_name.split()[0] if (contact.name or contact.profile_name) else ""
    rows = session.exec(
        select(Message, MediaFile, User)
        .outerjoin(MediaFile, MediaFile.id == Message.media_id)
        .outerjoin(User, User.id == Message.sender_user_id)
        .where(Message.conversation_id == conversation_id, Message.account_id == account_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    rows = list(reversed(rows))
    quoted = _quoted(session, account_id, [m.reply_to_id for m, _, _ in rows if m.reply_to_id])
    local = zone(tz)
    today = now.astimezone(local).date()
    offers = _resend_offers(session, account_id, [m for m, _, _ in rows])
    out: list[MessageRow] = []
    previous_day: dt.date | None = None
    previous_channel = ""
    for msg, media, user in rows:
        if msg.kind == "reaction" and _reaction_drawn_on_target(msg):
            continue  # drawn as a badge on the message it reacts to
        at = msg.created_at.astimezone(local)
        day = at.date()
        channel = msg.channel or "whatsapp"
        switched = bool(previous_channel) and channel != previous_channel
        row = _message_row(
            msg,
            media,
            user,
            contact_name=contact_name,
            first_name=first_name or contact_name,
            at=at,
            show_day=day != previous_day,
            day_label=_day_label(day, today),
            quoted=quoted,
        )
        if switched:
            row = dataclasses.replace(
                row, switch_label=f"Switched to {CHANNEL_LABELS.get(channel, channel)}"
            )
        if msg.id in offers:
            row = dataclasses.replace(row, resend_offered=True)
        if msg.kind == "reaction":
            row = dataclasses.replace(row, **_reaction_notice(msg, first_name or contact_name))
        if msg.direction == "outbound" and msg.status in ("queued", "unconfirmed", "failed"):
            row = dataclasses.replace(row, **send_state(msg, local, now))
        out.append(row)
        previous_day = day
        previous_channel = channel
    return thread_events.interleave(  # the team inbox's lines ("Ada assigned this to Ben")
        session=session,
        account_id=account_id,
        conversation_id=conversation_id,
        rows=out,
        messages=[m for m, _, _ in rows],
        tz=tz,
        now=now,
    )


def _reaction_drawn_on_target(msg: Message) -> bool:
    """A reaction is a badge on its message, except a customer's reaction to a message this
    inbox does not have, and a reaction of ours WhatsApp refused: those are notices."""
    if msg.direction == "outbound":
        return msg.status != "failed"
    return msg.reply_to_id is not None


def _reaction_notice(msg: Message, first_name: str) -> dict[str, Any]:
    emoji = msg.body or "a reaction"
    if msg.direction == "outbound":
        reason = msg.error_title or "WhatsApp did not take it"
        text = f"Your reaction {emoji} was not delivered: {reason}"
        if not msg.body:
            text = f"Removing your reaction was not delivered: {reason}"
        return {"is_notice": True, "notice_icon": "circle-alert", "notice_text": text,
                "failed": False, "body": ""}
    return {
        "is_notice": True,
        "notice_icon": "smile",
        "notice_text": f"{first_name} reacted {emoji} to a message not in this inbox",
        "body": "",
        "has_reply": False,
    }


def _resend_offers(session: Session, account_id: int, messages: list[Message]) -> set[int]:
    """Ids of the failed WhatsApp messages that "Resend as SMS" can send again now."""
    candidates = [
        m.id
        for m in messages
        if m.direction == "outbound" and m.status == "failed" and m.channel == "whatsapp"
    ]
    if not candidates:
        return set()
    from ctreflex.services import sms  # late: sms pulls in the sending side

    return {
        mid
        for mid in candidates
        if sms.resend_refusal(session=session, account_id=account_id, message_id=mid) is None
    }


def ledger_rows(
    *, session: Session, account_id: int, conversation_id: int, tz: str
) -> list[LedgerEntry]:
    """The conversation's contact's opt-out ledger for the contact panel, newest first."""
    contact_id = session.exec(
        select(Conversation.contact_id).where(
            Conversation.id == conversation_id, Conversation.account_id == account_id
        )
    ).first()
    if contact_id is None:
        return []
    from ctreflex.services import optouts

    local = zone(tz)
    return [
        LedgerEntry(
            id=r.id,
            summary=r.summary,
            source=r.source,
            when=_full_local(r.at, local),
            action=r.action,
        )
        for r in optouts.ledger(session=session, contact_id=contact_id)
    ]


def _quoted(session: Session, account_id: int, ids: list[int]) -> dict[int, Message]:
    if not ids:
        return {}
    found = session.exec(
        select(Message).where(Message.id.in_(set(ids)), Message.account_id == account_id)
    ).all()
    return {m.id: m for m in found}


def _snippet(msg: Message, media: MediaFile | None = None) -> str:
    body = " ".join((msg.body or "").split())
    if msg.kind in MEDIA_LABELS:
        label = MEDIA_LABELS[msg.kind]
        if msg.kind == "document" and media is not None and media.filename:
            label = media.filename
        return f"{label}: {body}" if body else label
    if msg.kind in NOTICE_KINDS and not body:
        return {"audio": "Voice message", "sticker": "Sticker"}.get(msg.kind, "Message")
    return body[:160] + ("…" if len(body) > 160 else "")


def _payload(msg: Message) -> dict[str, Any]:
    return msg.payload if isinstance(msg.payload, dict) else {}


def _notice(msg: Message, first_name: str) -> tuple[str, str]:
    icon, default = NOTICE_KINDS[msg.kind]
    body = (msg.body or "").strip()
    text = body or default or "sent a message this inbox cannot show"
    if msg.kind == "unsupported" and not body:
        sub = _payload(msg).get("unsupported", {})
        kind = sub.get("type") if isinstance(sub, dict) else None
        if kind:
            text = f"sent a {kind}, which this channel does not support"
    if msg.kind == "system":
        return icon, text  # "Maria changed their number" etc. are already sentences
    if text.startswith("sent ") or text.startswith("tried ") or text.startswith("wrote "):
        text = f"{first_name} {text}"
    return icon, text


def _extras(msg: Message) -> tuple[str, str, str]:
    """(tag, body, link) for kinds that carry their content in the payload."""
    payload = _payload(msg)
    body = msg.body or ""
    if msg.kind == "location":
        loc = payload.get("location", payload)
        lat, lng = loc.get("latitude"), loc.get("longitude")
        link = f"https://maps.google.com/?q={lat},{lng}" if lat is not None else ""
        if not body:
            body = ", ".join(str(p) for p in (loc.get("name"), loc.get("address")) if p)
            body = body or (f"{lat}, {lng}" if lat is not None else "Shared a location")
        return "Location", body, link
    if msg.kind == "contacts":
        if not body:
            names = []
            for c in payload.get("contacts", []) or []:
                name = (c.get("name") or {}).get("formatted_name", "")
                numbers = ", ".join(p.get("phone", "") for p in c.get("phones", []) or [])
                names.append(" ".join(x for x in (name, numbers) if x))
            body = "; ".join(n for n in names if n) or "Shared a contact"
        return "Contact card", body, ""
    if msg.kind == "button":
        return "Tapped a button", body, ""
    if msg.kind == "interactive":
        return "Chose an option", body, ""
    if msg.kind == "template":
        return "Template", body, ""
    return "", body, ""


def _message_row(
    msg: Message,
    media: MediaFile | None,
    user: User | None,
    *,
    contact_name: str,
    first_name: str,
    at: dt.datetime,
    show_day: bool,
    day_label: str,
    quoted: dict[int, Message],
) -> MessageRow:
    outbound = msg.direction == "outbound"
    failed = msg.status == "failed"
    error_title = error_plain = error_todo = ""
    retryable = False
    if failed:
        if msg.error_code is not None:
            help_ = describe_error(msg.error_code)
            error_title, error_plain, error_todo = help_.title, help_.plain_words, help_.what_to_do
            retryable = help_.retryable
        else:  # refused before any request or could not connect (a timeout is "unconfirmed")
            error_title = msg.error_title or "Not sent"
            error_plain = msg.error_detail or "The message could not be handed to WhatsApp."
            error_todo = "Retry sends it again. If it keeps failing, contact support."
            retryable = True
    # reply quote
    has_reply = bool(msg.reply_to_id or msg.reply_to_provider_id)
    original = quoted.get(msg.reply_to_id) if msg.reply_to_id else None
    reply_author = reply_snippet = ""
    if original is not None:
        reply_author = "You" if original.direction == "outbound" else contact_name
        reply_snippet = _snippet(original)
    is_notice = msg.kind in NOTICE_KINDS and not outbound
    notice_icon = notice_text = ""
    if is_notice:
        notice_icon, notice_text = _notice(msg, first_name)
    tag, body, link = _extras(msg)
    media_kind = ""
    if media is not None and msg.kind in MEDIA_LABELS:
        media_kind = msg.kind
    elif media is not None:
        media_kind = media.kind
    sender = (user.name or user.email if user is not None else "") if outbound else contact_name
    payload = _payload(msg)
    is_template = msg.kind == "template" and bool(payload.get("rendered"))
    template = PreviewView()
    if is_template:
        template = dataclasses.replace(
            preview_from_payload(payload, media_url=f"/media/{media.id}" if media else ""),
            time=timefmt.clock(at),
        )
    channel = msg.channel or "whatsapp"
    return MessageRow(
        id=msg.id,
        direction=msg.direction,
        kind=msg.kind,
        body="" if is_notice else body,
        time=timefmt.clock(at),
        timestamp=timefmt.full_stamp(at),
        show_day=show_day,
        day_label=day_label,
        status=msg.status,
        status_label=STATUS_LABELS.get(msg.status, msg.status.capitalize()),
        sender=sender,
        failed=failed,
        error_title=error_title,
        error_plain=error_plain,
        error_todo=error_todo,
        retryable=retryable and outbound,
        has_reply=has_reply,
        reply_missing=has_reply and original is None,
        reply_author=reply_author,
        reply_snippet=reply_snippet,
        reaction=msg.reaction or "",
        my_reaction=msg.business_reaction or "",
        media_id=media.id if media is not None else 0,
        media_kind=media_kind,
        media_url=f"/media/{media.id}" if media is not None else "",
        media_download_url=f"/media/{media.id}?download=1" if media is not None else "",
        media_name=(media.filename or MEDIA_LABELS.get(media_kind, "File")) if media else "",
        media_size=human_size(media.size) if media is not None else "",
        is_notice=is_notice,
        notice_icon=notice_icon,
        notice_text=notice_text,
        tag=tag,
        link=link,
        channel=channel,
        channel_label=CHANNEL_LABELS.get(channel, channel.upper()),
        is_template=is_template,
        template=template,
        resent_as_id=_int(payload.get("resent_as")),
        resent_from_id=_int(payload.get("resent_from")),
    )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def message_snippet(
    *, session: Session, account_id: int, conversation_id: int, message_id: int
) -> tuple[str, str]:
    """(author, snippet) for the reply chip above the composer; ("", "") unless the message
    is in that conversation of that account."""
    row = session.exec(
        select(Message, MediaFile, Contact)
        .outerjoin(MediaFile, MediaFile.id == Message.media_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            Message.id == message_id,
            Message.account_id == account_id,
            Message.conversation_id == conversation_id,
        )
    ).first()
    if row is None:
        return "", ""
    msg, media, contact = row
    author = "You" if msg.direction == "outbound" else _contact_name(contact)
    return author, _snippet(msg, media)


def language_hint(region: str) -> str:
    """The language to list first in the template picker for a customer in `region`.

    Contacts carry no language: the picker sorts templates by the language of the customer's
    country (the number's region) first, as CLDR knows it (services/l10n.region_language)."""
    return l10n.region_language(region)
