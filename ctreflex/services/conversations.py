"""The inbox's read side: conversation list rows, one conversation's details and its thread,
as small frozen view rows the UI renders. Plus `mark_read`. No Reflex here.

Times are stored in UTC and formatted in the account's time zone. Window expiry is also given
as epoch milliseconds so the browser can count down between server updates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, MediaFile, Message, utc_now
from ctreflex.services import l10n, labels, phones, search, timefmt
from ctreflex.services.labels import LabelChip
from ctreflex.services.paging import ListCursor
from ctreflex.services.timefmt import format_duration, format_local, window_label, zone
from ctreflex.whatsapp.limits import INBOUND_AUDIO_NOTICE

CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
CLOSING_SOON = dt.timedelta(hours=2)
FILTERS = ("all", "unread", "open", "closing", "closed")
SORTS = ("recent", "closing")


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
class LedgerEntry:
    """One line of the contact panel's consent history (newest first)."""

    id: int
    summary: str  # "Opted out of all SMS"
    source: str  # 'SMS keyword "STOP"'
    when: str  # local date and time
    action: str  # out | in


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
    return contact.name or contact.profile_name or _pretty(contact.e164)


@functools.lru_cache(maxsize=8192)
def _pretty(e164: str) -> str:
    """The number as people write it, memoised: phonenumbers takes ~0.2 ms a number and the
    list draws the same customers at every reload."""
    return phones.format_international(e164)


def _country(contact: Contact) -> tuple[str, str]:
    """(country name, region code) for a contact's number."""
    return _country_of(contact.e164, contact.region)


@functools.lru_cache(maxsize=8192)
def _country_of(e164: str, stored_region: str) -> tuple[str, str]:
    """`_country`, memoised like `_pretty` (a pure function of the number)."""
    try:
        phone = phones.parse(e164)
    except phones.InvalidPhoneNumber:
        return "", stored_region
    region = phone.region or stored_region
    country = phone.country
    if region and country in ("", region):  # the geocoder knows no name for some mobiles
        country = l10n.region_name(region) or country
    return country, region


human_size = l10n.file_size
_day_label = timefmt.day_label


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


_RECENT = (Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())


def _after_recent(cursor: ListCursor):
    """The rows after `cursor` in the latest-activity order (no activity last)."""
    at = Conversation.last_message_at
    if cursor.last_at is None:
        return and_(at.is_(None), Conversation.id < cursor.id)
    return or_(
        at < cursor.last_at, and_(at == cursor.last_at, Conversation.id < cursor.id), at.is_(None)
    )


def list_rows(**kwargs) -> list[ConversationRow]:
    """The rows of `list_page` (its first page unless `after` is given)."""
    return list_page(**kwargs)[0]


def list_page(
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
    after: ListCursor | None = None,
) -> tuple[list[ConversationRow], ListCursor | None]:
    """The account's conversations, searched (name, number, message text), filtered and
    sorted (latest activity first, or the open windows that close soonest first, then the
    others by latest activity): `limit` rows after `after`, and the cursor of the next page
    (None when there is none). Each part walks an index in the list's order."""
    now = now or utc_now()
    stmt = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.account_id == account_id)
    )
    walk = None
    if (clause := search.search_clause(session, account_id, query)) is not None:
        if isinstance(clause, search.Walk):
            walk = clause
        else:
            stmt = stmt.where(clause)
    if (clause := _filter_clause(filter, now)) is not None:
        stmt = stmt.where(clause)
    for clause in where:
        stmt = stmt.where(clause)
    expires = Conversation.window_expires_at
    pairs: list = []
    if sort == "closing" and (after is None or after.expires_at is not None):
        first = stmt.where(expires > now)
        if after is not None:
            first = first.where(
                or_(expires > after.expires_at, and_(expires == after.expires_at,
                                                     _after_recent(after)))
            )
        pairs += _fetch(session, first.order_by(expires, *_RECENT), limit + 1, walk)
    if len(pairs) <= limit:
        rest = stmt
        if sort == "closing":
            rest = rest.where(or_(expires.is_(None), expires <= now))
        if after is not None and (sort != "closing" or after.expires_at is None):
            rest = rest.where(_after_recent(after))
        pairs += _fetch(session, rest.order_by(*_RECENT), limit + 1 - len(pairs), walk)
    cursor = None
    if len(pairs) > limit:
        pairs = pairs[:limit]
        conv = pairs[-1][0]
        still_open = sort == "closing" and conv.window_expires_at and conv.window_expires_at > now
        cursor = ListCursor(
            conv.last_message_at, conv.window_expires_at if still_open else None, conv.id
        )
    last_dirs = _last_directions(session, [conv.id for conv, _ in pairs])
    rows = [_row(conv, contact, tz, now, last_dirs.get(conv.id, "")) for conv, contact in pairs]
    return labels.with_labels(session, account_id, rows), cursor


def _fetch(session: Session, ordered, n: int, walk: search.Walk | None) -> list:
    """The first `n` (Conversation, Contact) of the ordered SELECT; with a `walk`, the first
    `n` of them it keeps, checked one by one in order: the SELECT is a subquery (OFFSET 0
    keeps PostgreSQL from folding it into the outer query, so the check runs after its
    filters and joins), read in its order until `n` are kept."""
    if walk is None:
        return list(session.exec(ordered.limit(n)).all())
    inner = ordered.offset(0).subquery()
    conv, contact = aliased(Conversation, inner), aliased(Contact, inner)
    # no ORDER BY outside: PostgreSQL reads the subquery in its order and plans it for the
    # first rows (an outer sort would make it plan for all of them)
    return list(session.exec(select(conv, contact).where(walk.clause(conv)).limit(n)).all())


def _last_directions(session: Session, conversation_ids: list[int]) -> dict[int, str]:
    """Direction of each conversation's latest message, by time as the preview is (for the
    "You:" preview prefix; ids are not in time order: a provider's reply can be stored later),
    the highest id winning a tie: one probe of (conversation_id, created_at, id) each (a
    GROUP BY over the messages made PostgreSQL read all of them for a 10,000-message thread)."""
    if not conversation_ids:
        return {}
    latest = (
        select(Message.direction)
        .where(Message.conversation_id == Conversation.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Conversation.id, latest).where(Conversation.id.in_(conversation_ids))
    ).all()
    return {cid: direction for cid, direction in rows if direction}


def _row(
    conv: Conversation, contact: Contact, tz: str, now: dt.datetime, last_dir: str
) -> ConversationRow:
    name = _contact_name(contact)
    country, region = _country(contact)
    return ConversationRow(
        id=conv.id,
        name=name,
        initials=_initials(name),
        number=_pretty(contact.e164),
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
    """How many conversations each filter would show (for the filter tabs), in one query of
    four counts, each answered by an index range (the account's scope, its unread ones, its
    open windows, those closing soon); "closed" is the rest."""
    now = now or utc_now()

    def count(*clauses):
        return (
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.account_id == account_id, *where, *clauses)
            .scalar_subquery()
        )

    row = session.exec(
        select(
            count(),
            count(_filter_clause("unread", now)),
            count(_filter_clause("open", now)),
            count(_filter_clause("closing", now)),
        )
    ).one()
    total, unread, opened, closing = (int(v or 0) for v in row)
    return {
        "all": total,
        "unread": unread,
        "open": opened,
        "closing": closing,
        "closed": total - opened,
    }


def next_list_change(rows: list[ConversationRow], now: dt.datetime) -> float | None:
    """Seconds until a listed window changes state (opens→closing soon→closed), if any."""
    return next_window_change([row.window_expires_ms for row in rows], now)


def next_window_change(expiries_ms: list[int], now: dt.datetime) -> float | None:
    """Seconds until one of these windows (epoch ms when each closes, 0: none) changes state
    (open→closing soon→closed), if any."""
    now_ms = _epoch_ms(now)
    soonest = None
    for expires_ms in expiries_ms:
        if not expires_ms:
            continue
        for edge in (expires_ms - int(CLOSING_SOON.total_seconds() * 1000), expires_ms):
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
        number=_pretty(contact.e164),
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
