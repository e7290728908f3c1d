"""The read and write side of the public API (/api/v1) that the inbox has no function for:
stable JSON views of contacts, conversations and messages (ids and UTC times, not the inbox's
formatted strings), cursor paging of a thread, and contacts created or updated by a client
system. Sending is NOT here: the API calls the inbox's own services (outbound, templates, sms)
so every rule is the same. Never imports reflex."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sqlmodel import Session, select

from ctreflex.models import (
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Template,
    utc_now,
)
from ctreflex.services import conversations as convs
from ctreflex.services import optouts, phones
from ctreflex.services.errors import UserFacingError

NAME_MAX = 120
PAGE_MAX = 100


class NotFound(LookupError):
    """Not this account's (or not at all): the API answers 404 either way."""

    def __init__(self, what: str):
        super().__init__(f"No such {what} in your account.")
        self.what = what


class InvalidInput(UserFacingError, ValueError):
    """Bad input to the public API; `field` names it (the problem's `field`)."""


def iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


# ------------------------------------------------------------------------------ contacts


def contact_view(c: Contact, conversation_id: int | None = None) -> dict[str, Any]:
    return {
        "id": c.id,
        "phone": c.e164,
        "region": c.region,
        "name": c.name,
        "profile_name": c.profile_name,
        "whatsapp_id": c.wa_id,
        "conversation_id": conversation_id,
        "opt_out": {
            "sms": c.sms_opted_out,
            "marketing": c.marketing_opted_out or c.sms_opted_out,
        },
        "created_at": iso(c.created_at),
    }


def _conversation_ids(session: Session, contact_ids: list[int]) -> dict[int, int]:
    if not contact_ids:
        return {}
    rows = session.exec(
        select(Conversation.contact_id, Conversation.id).where(
            Conversation.contact_id.in_(contact_ids)
        )
    ).all()
    return dict(rows)


def list_contacts(
    *, session: Session, account_id: int, search: str = "", limit: int = 50, after: int = 0
) -> tuple[list[dict], int | None]:
    """Contacts by id, searched by name, profile name or phone digits; (page, next cursor)."""
    stmt = select(Contact).where(Contact.account_id == account_id, Contact.id > after)
    q = " ".join((search or "").split()).lower()
    if q:
        from sqlalchemy import func, or_

        clauses = [
            func.lower(Contact.name).contains(q, autoescape=True),
            func.lower(Contact.profile_name).contains(q, autoescape=True),
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 3:
            clauses.append(Contact.e164.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*clauses))
    rows = session.exec(stmt.order_by(Contact.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    conv_ids = _conversation_ids(session, [c.id for c in rows])
    return [contact_view(c, conv_ids.get(c.id)) for c in rows], (rows[-1].id if more else None)


def _own_contact(session: Session, account_id: int, contact_id: int) -> Contact:
    c = session.get(Contact, contact_id)
    if c is None or c.account_id != account_id:
        raise NotFound("contact")
    return c


def get_contact(*, session: Session, account_id: int, contact_id: int) -> dict:
    c = _own_contact(session, account_id, contact_id)
    return contact_view(c, _conversation_ids(session, [c.id]).get(c.id))


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise InvalidInput(f"A name can be at most {NAME_MAX} characters.", "name")
    return name


def create_contact(
    *, session: Session, account_id: int, phone: str, name: str = ""
) -> tuple[dict, bool]:
    """The contact for `phone` (E.164, validated), created with its one conversation if new.
    Returns (view, created)."""
    try:
        parsed = phones.parse(phone)
    except phones.InvalidPhoneNumber as exc:
        raise InvalidInput(str(exc), "phone") from exc
    clean = _clean_name(name)
    contact = session.exec(
        select(Contact).where(Contact.account_id == account_id, Contact.e164 == parsed.e164)
    ).first()
    created = contact is None
    if created:
        contact = Contact(account_id=account_id, e164=parsed.e164, region=parsed.region, name=clean)
        session.add(contact)
        session.flush()
    conv = ensure_conversation(session, contact)
    session.commit()
    return contact_view(contact, conv.id), created


def ensure_conversation(session: Session, contact: Contact) -> Conversation:
    """The customer's one conversation in the account, created (no number yet, WhatsApp as the
    channel of the next send, window closed) when the business writes first."""
    conv = session.exec(
        select(Conversation).where(
            Conversation.account_id == contact.account_id, Conversation.contact_id == contact.id
        )
    ).first()
    if conv is None:
        conv = Conversation(account_id=contact.account_id, contact_id=contact.id)
        session.add(conv)
        session.flush()
    return conv


def update_contact(
    *,
    session: Session,
    account_id: int,
    contact_id: int,
    name: str | None = None,
    marketing_opted_out: bool | None = None,
    source: str = "API",
) -> dict:
    """Rename a contact, or record that they opted out of marketing (told to the business
    elsewhere). Opting back in is the customer's own act (a START or a quick reply)."""
    c = _own_contact(session, account_id, contact_id)
    if name is not None:
        c.name = _clean_name(name)
        session.add(c)
    if marketing_opted_out is not None and marketing_opted_out != c.marketing_opted_out:
        if not marketing_opted_out:
            raise InvalidInput(
                "Only the customer can opt back in to marketing (a START or the template's "
                "quick reply); the API can record an opt-out only.",
                "marketing_opted_out",
            )
        optouts.record(
            session=session,
            contact_id=c.id,
            channel="whatsapp",
            scope="marketing",
            action="out",
            source=source,
        )
    session.commit()
    session.refresh(c)
    return contact_view(c, _conversation_ids(session, [c.id]).get(c.id))


def consent(*, session: Session, account_id: int, contact_id: int) -> dict:
    c = _own_contact(session, account_id, contact_id)
    st = optouts.state(session=session, contact_id=c.id)
    return {
        "contact_id": c.id,
        "sms_opted_out": st.sms_opted_out,
        "marketing_opted_out": st.marketing_opted_out,
        "summary": st.summary,
        "history": [
            {
                "channel": r.channel,
                "scope": r.scope,
                "action": r.action,
                "source": r.source,
                "at": iso(r.at),
                "summary": r.summary,
            }
            for r in optouts.ledger(session=session, contact_id=c.id)
        ],
    }


# ------------------------------------------------------------------------- conversations


def conversation_view(conv: Conversation, contact: Contact, now: dt.datetime) -> dict:
    return {
        "id": conv.id,
        "contact": contact_view(contact, conv.id),
        "channel": conv.channel,
        "business_number_id": conv.business_number_id,
        "unread_count": conv.unread_count,
        "last_message_at": iso(conv.last_message_at),
        "last_inbound_at": iso(conv.last_inbound_at),
        "last_preview": conv.last_preview,
        "window": {
            "state": convs.window_state(conv.window_expires_at, now),
            "expires_at": iso(conv.window_expires_at),
        },
        "created_at": iso(conv.created_at),
        **_team_view(conv, now),
    }


def _team_view(conv: Conversation, now: dt.datetime) -> dict:
    """Status and assignee (the team inbox: services/status.py, assignment.py)."""
    from sqlmodel import Session as _Session

    from ctreflex.models import User
    from ctreflex.services import assignment, status

    state = status.effective(conv.status, conv.snoozed_until, now)
    user = None
    session = _Session.object_session(conv)
    if conv.assignee_id and session is not None:
        user = session.get(User, conv.assignee_id)
    return {
        "status": state,
        "snoozed_until": iso(conv.snoozed_until) if state == "snoozed" else None,
        "assignee": {"id": user.id, "name": assignment.display_name(user)} if user else None,
    }


def list_conversations(
    *,
    session: Session,
    account_id: int,
    query: str = "",
    filter: str = "all",  # noqa: A002 - the inbox's word
    sort: str = "recent",
    limit: int = 50,
) -> list[dict]:
    """The inbox's own list (conversations.list_rows: same search, filters and order)."""
    now = utc_now()
    rows = convs.list_rows(
        session=session,
        account_id=account_id,
        tz="UTC",
        query=query,
        filter=filter,
        sort=sort,
        now=now,
        limit=limit,
    )
    ids = [r.id for r in rows]
    if not ids:
        return []
    pairs = {
        conv.id: (conv, contact)
        for conv, contact in session.exec(
            select(Conversation, Contact)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.id.in_(ids))
        ).all()
    }
    return [conversation_view(*pairs[i], now) for i in ids if i in pairs]


def own_conversation(session: Session, account_id: int, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        raise NotFound("conversation")
    return conv


def get_conversation(*, session: Session, account_id: int, conversation_id: int) -> dict:
    conv = own_conversation(session, account_id, conversation_id)
    return conversation_view(conv, session.get(Contact, conv.contact_id), utc_now())


# ------------------------------------------------------------------------------ messages


def message_view(m: Message, media: MediaFile | None = None, template: Template | None = None):
    error = None
    if m.status == "failed" or m.error_code:
        error = {"code": m.error_code, "title": m.error_title, "detail": m.error_detail}
    tpl = None
    if m.kind == "template":
        payload = m.payload or {}
        tpl = {
            "id": m.template_id,
            "name": template.name if template else payload.get("template"),
            "language": template.language if template else payload.get("language"),
        }
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": m.direction,
        "channel": m.channel,
        "type": m.kind,
        "text": m.body,
        "status": m.status,
        "error": error,
        "media": (
            {
                "id": media.id,
                "kind": media.kind,
                "mime_type": media.mime_type,
                "size": media.size,
                "filename": media.filename,
            }
            if media is not None
            else None
        ),
        "template": tpl,
        "reply_to_id": m.reply_to_id,
        "created_at": iso(m.created_at),
        "sent_at": iso(m.sent_at),
        "delivered_at": iso(m.delivered_at),
        "read_at": iso(m.read_at),
        "failed_at": iso(m.failed_at),
    }


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("m"):
            raise ValueError
        value = int(raw[1:])
        if value < 1:
            raise ValueError
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("This cursor is not one this API gave out.", "cursor") from exc


def _views(session: Session, rows: list[Message]) -> list[dict]:
    media_ids = {m.media_id for m in rows if m.media_id}
    tpl_ids = {m.template_id for m in rows if m.template_id}
    media = (
        {f.id: f for f in session.exec(select(MediaFile).where(MediaFile.id.in_(media_ids)))}
        if media_ids
        else {}
    )
    tpls = (
        {t.id: t for t in session.exec(select(Template).where(Template.id.in_(tpl_ids)))}
        if tpl_ids
        else {}
    )
    return [message_view(m, media.get(m.media_id), tpls.get(m.template_id)) for m in rows]


def list_messages(
    *, session: Session, account_id: int, conversation_id: int, cursor: str = "", limit: int = 50
) -> tuple[list[dict], str | None]:
    """A conversation's messages, newest first; `cursor` continues with older ones."""
    own_conversation(session, account_id, conversation_id)
    stmt = select(Message).where(
        Message.conversation_id == conversation_id, Message.account_id == account_id
    )
    if cursor:
        stmt = stmt.where(Message.id < decode_cursor(cursor))
    rows = list(session.exec(stmt.order_by(Message.id.desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return _views(session, rows), (encode_cursor(rows[-1].id) if more and rows else None)


def get_message(*, session: Session, account_id: int, message_id: int) -> dict:
    m = session.get(Message, message_id)
    if m is None or m.account_id != account_id:
        raise NotFound("message")
    return _views(session, [m])[0]


# ------------------------------------------------------------------------- numbers


def list_numbers(*, session: Session, account_id: int) -> list[dict]:
    rows = session.exec(
        select(BusinessNumber)
        .where(BusinessNumber.account_id == account_id)
        .order_by(BusinessNumber.channel, BusinessNumber.id)
    ).all()
    return [
        {
            "id": n.id,
            "channel": n.channel,
            "phone": n.e164,
            "display_name": n.display_name or n.verified_name,
            "status": n.status,
            "quality_rating": n.quality_rating if n.channel == "whatsapp" else None,
            "messaging_limit": n.messaging_limit or None,
        }
        for n in rows
    ]


# ------------------------------------------------------------------ media from a URL

URL_FETCH_TIMEOUT = 20.0


class RemoteMediaError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _public_address(host: str, allow_local: bool) -> None:
    """Refuse a host that resolves to a private, loopback, link-local or reserved address
    (the server must not be made to fetch from its own network)."""
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise RemoteMediaError(f"The host {host!r} cannot be resolved.") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if allow_local and ip.is_loopback:
            continue
        if not ip.is_global:
            raise RemoteMediaError(
                f"The host {host!r} is not a public address; the file must be on the internet."
            )


def check_remote_url(url: str, *, allow_local: bool) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (allow_local and local and parts.scheme == "http"):
        raise RemoteMediaError("The media URL must start with https://.")
    if not parts.hostname:
        raise RemoteMediaError("The media URL has no host.")
    _public_address(parts.hostname, allow_local)


async def fetch_remote_media(*, account_id: int, url: str, allow_local: bool = False):
    """Download `url` (https, public host, no redirects, at most the largest attachment size)
    and store it with the same checks as an upload (raises MediaRuleError / RemoteMediaError)."""
    import asyncio
    import tempfile

    import httpx

    from ctreflex.services import media

    await asyncio.to_thread(check_remote_url, url, allow_local=allow_local)
    limit = media.MAX_UPLOAD_BYTES
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        declared = ""
        name = url.rsplit("/", 1)[-1].split("?")[0][:200] or "file"
        try:
            async with (
                httpx.AsyncClient(timeout=URL_FETCH_TIMEOUT, follow_redirects=False) as client,
                client.stream("GET", url) as resp,
            ):
                if resp.status_code != 200:
                    raise RemoteMediaError(
                        f"Fetching the media URL answered HTTP {resp.status_code}."
                    )
                declared = resp.headers.get("content-type", "")
                size = 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise RemoteMediaError(
                            f"The file at the media URL is larger than {limit // 1_000_000} MB."
                        )
                    spool.write(chunk)
        except httpx.HTTPError as exc:
            raise RemoteMediaError(f"The media URL could not be fetched: {exc}") from exc
        size = spool.tell()
        spool.seek(0)
        return await asyncio.to_thread(
            media.save_upload,
            account_id=account_id,
            filename=name,
            file=spool,
            declared_mime=declared.split(";")[0],
            declared_size=size,
        )
    finally:
        spool.close()
