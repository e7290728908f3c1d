"""The open conversation's messages as rows the thread draws: bubbles, notices, quotes,
reactions, media, failures and their help."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import literal, tuple_
from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, MediaFile, Message, User, utc_now
from ctreflex.models._base import UTCDateTime
from ctreflex.services import thread_events, timefmt
from ctreflex.services.conversations import (
    CHANNEL_LABELS,
    MEDIA_LABELS,
    NOTICE_KINDS,
    _contact_name,
    _day_label,
    _payload,
    _snippet,
    human_size,
)
from ctreflex.services.outbox import send_state
from ctreflex.services.templates import PreviewView, preview_from_payload
from ctreflex.services.timefmt import zone
from ctreflex.whatsapp.codes import describe_error

THREAD_LIMIT = 100  # a page: the newest messages first, older pages on request (`before`)

Key = tuple[dt.datetime, int]  # a message's (created_at, id): where a thread page starts


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

    @classmethod
    def blank(cls, **fields: Any) -> MessageRow:
        """A row that is not a customer's or business's message (an internal note, a team
        line): every message field empty, then `fields`."""
        empty = {"str": "", "int": 0, "bool": False}
        values = {
            f.name: empty[f.type]
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        return cls(**{**values, **fields})


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


@dataclasses.dataclass(frozen=True)
class ThreadPage:
    rows: list[MessageRow]  # oldest first
    oldest: Key | None  # the oldest message shown: the next older page ends before it
    has_older: bool  # messages older than those shown exist


def thread_rows(**kwargs) -> list[MessageRow]:
    """The rows of `thread_page`."""
    return thread_page(**kwargs).rows


def encode_key(key: Key | None) -> str:
    return f"{key[0].isoformat()}|{key[1]}" if key else ""


def decode_key(text: str) -> Key | None:
    try:
        at, mid = (text or "").split("|")
        return dt.datetime.fromisoformat(at), int(mid)
    except ValueError:
        return None


def join_pages(older: list[MessageRow], newer: list[MessageRow]) -> list[MessageRow]:
    """An older page drawn above the rows shown: no second day separator where the pages
    meet within one day."""
    if older and newer and newer[0].show_day and newer[0].day_label == older[-1].day_label:
        newer = [dataclasses.replace(newer[0], show_day=False), *newer[1:]]
    return [*older, *newer]


def thread_page(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    tz: str,
    now: dt.datetime | None = None,
    limit: int = THREAD_LIMIT,
    before: Key | None = None,
    since: Key | None = None,
) -> ThreadPage:
    """The `limit` messages before `before` (the newest when None), or with `since` every
    message from that one on (a reload that keeps the older pages the agent loaded): oldest
    first, with day separators, reply quotes and the team's lines. Keyset paging on
    (created_at, id): each page walks the index from where the last one ended."""
    now = now or utc_now()
    pair = session.exec(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id == conversation_id, Conversation.account_id == account_id)
    ).first()
    if pair is None:
        return ThreadPage([], None, False)
    _conv, contact = pair
    contact_name = _contact_name(contact)
    first_name = contact_name.split()[0] if (contact.name or contact.profile_name) else ""
    key = tuple_(Message.created_at, Message.id)
    stmt = (
        select(Message, MediaFile, User)
        .outerjoin(MediaFile, MediaFile.id == Message.media_id)
        .outerjoin(User, User.id == Message.sender_user_id)
        .where(Message.conversation_id == conversation_id, Message.account_id == account_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    if since is not None:
        rows = list(reversed(session.exec(stmt.where(key >= _bound(since))).all()))
        has_older = _older_exists(session, account_id, conversation_id, since)
    else:
        if before is not None:
            stmt = stmt.where(key < _bound(before))
        rows = list(reversed(session.exec(stmt.limit(limit + 1)).all()))
        has_older = len(rows) > limit
        rows = rows[1:] if has_older else rows
    oldest = (rows[0][0].created_at, rows[0][0].id) if rows else None
    out = _draw(session, account_id, rows, contact_name, first_name, tz, now)
    return ThreadPage(
        thread_events.interleave(  # the team inbox's lines ("Ada assigned this to Ben")
            session=session,
            account_id=account_id,
            conversation_id=conversation_id,
            rows=out,
            messages=[m for m, _, _ in rows],
            tz=tz,
            now=now,
            since=oldest[0] if oldest and has_older else None,
            until=before[0] if before else None,
        ),
        oldest,
        has_older,
    )


def _bound(key: Key):
    """A message key as SQL, its time stored as the column stores times."""
    return tuple_(literal(key[0], UTCDateTime()), literal(key[1]))


def _older_exists(session: Session, account_id: int, conversation_id: int, key: Key) -> bool:
    return (
        session.exec(
            select(Message.id)
            .where(
                Message.conversation_id == conversation_id,
                Message.account_id == account_id,
                tuple_(Message.created_at, Message.id) < _bound(key),
            )
            .limit(1)
        ).first()
        is not None
    )


def _draw(
    session: Session,
    account_id: int,
    rows: list,
    contact_name: str,
    first_name: str,
    tz: str,
    now: dt.datetime,
) -> list[MessageRow]:
    """(Message, MediaFile, User) rows, oldest first, as the thread draws them."""
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
    return out


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


def _quoted(session: Session, account_id: int, ids: list[int]) -> dict[int, Message]:
    if not ids:
        return {}
    found = session.exec(
        select(Message).where(Message.id.in_(set(ids)), Message.account_id == account_id)
    ).all()
    return {m.id: m for m in found}


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

