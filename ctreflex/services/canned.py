"""Canned replies (issue 15): per-account snippets with a shortcut (`/hours`), managed by
admins, inserted by agents from the composer with their variables filled in.

A canned reply is free-form text, so it is only offered while the conversation can take one
(WhatsApp: inside the customer's 24-hour window; outside it, only an approved template can
reach them). `render` checks that on the server."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import func
from sqlmodel import Session, select

from ctreflex.models import CannedReply, Contact, Conversation, User, utc_now
from ctreflex.services.conversations import window_state
from ctreflex.services.notes import display_name

SHORTCUT_MAX = 32
BODY_MAX = 4096  # WhatsApp's text limit
REPLIES_MAX = 200  # per account
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")
VARIABLES = {
    "first_name": "the contact's first name",
    "name": "the contact's name",
    "agent_name": "your name",
}
WINDOW_CLOSED = (
    "The 24-hour window is closed, so a canned reply can't be sent: choose an approved "
    "template instead."
)


class CannedError(Exception):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True)
class CannedRow:
    id: int
    shortcut: str  # without the slash
    body: str
    preview: str  # the first line, shortened


def _row(reply: CannedReply) -> CannedRow:
    first = " ".join(reply.body.split())
    preview = first if len(first) <= 90 else first[:89] + "…"
    return CannedRow(id=reply.id, shortcut=reply.shortcut, body=reply.body, preview=preview)


def list_replies(*, session: Session, account_id: int, query: str = "") -> list[CannedRow]:
    """The account's replies by shortcut; `query` keeps those whose shortcut starts with it,
    then those whose text contains it."""
    replies = session.exec(
        select(CannedReply)
        .where(CannedReply.account_id == account_id)
        .order_by(CannedReply.shortcut)
    ).all()
    q = (query or "").strip().lower().lstrip("/")
    if not q:
        return [_row(r) for r in replies]
    first = [r for r in replies if r.shortcut.startswith(q)]
    rest = [r for r in replies if r not in first and q in r.body.lower()]
    return [_row(r) for r in first + rest]


def _clean(session: Session, account_id: int, shortcut: str, body: str, reply_id: int = 0):
    shortcut = str(shortcut or "").strip().lower().lstrip("/")
    body = str(body or "").strip()
    if not shortcut:
        raise CannedError("Give the reply a shortcut, like hours.", "shortcut")
    if len(shortcut) > SHORTCUT_MAX or not _SHORTCUT.match(shortcut):
        raise CannedError(
            f"A shortcut is one word of up to {SHORTCUT_MAX} lowercase letters, digits, "
            "- or _ (like opening-hours).",
            "shortcut",
        )
    if not body:
        raise CannedError("Type the reply's text.", "body")
    if len(body) > BODY_MAX:
        raise CannedError(f"A reply can be at most {BODY_MAX:,} characters.", "body")
    unknown = sorted({v for v in _VARIABLE.findall(body) if v not in VARIABLES})
    if unknown:
        known = ", ".join("{{" + v + "}}" for v in VARIABLES)
        raise CannedError(
            f"Unknown variable {{{{{unknown[0]}}}}}: use {known}.",
            "body",
        )
    clash = session.exec(
        select(CannedReply.id).where(
            CannedReply.account_id == account_id,
            CannedReply.shortcut == shortcut,
            CannedReply.id != reply_id,
        )
    ).first()
    if clash is not None:
        raise CannedError(f"/{shortcut} is already used by another reply.", "shortcut")
    return shortcut, body


def _own(session: Session, account_id: int, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, int(reply_id or 0))
    if reply is None or reply.account_id != account_id:
        raise CannedError("That reply no longer exists.")
    return reply


def create_reply(*, session: Session, account_id: int, shortcut: str, body: str) -> CannedRow:
    shortcut, body = _clean(session, account_id, shortcut, body)
    count = session.exec(select(func.count()).where(CannedReply.account_id == account_id)).one()
    if count >= REPLIES_MAX:
        raise CannedError(f"An account can keep at most {REPLIES_MAX} canned replies.")
    reply = CannedReply(account_id=account_id, shortcut=shortcut, body=body)
    session.add(reply)
    session.flush()
    return _row(reply)


def update_reply(
    *, session: Session, account_id: int, reply_id: int, shortcut: str, body: str
) -> CannedRow:
    reply = _own(session, account_id, reply_id)
    reply.shortcut, reply.body = _clean(session, account_id, shortcut, body, reply.id)
    reply.updated_at = utc_now()
    session.add(reply)
    session.flush()
    return _row(reply)


def delete_reply(*, session: Session, account_id: int, reply_id: int) -> None:
    session.delete(_own(session, account_id, reply_id))
    session.flush()


def fill(body: str, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def window_allows(conv: Conversation) -> bool:
    """Whether free-form text may go out now: SMS has no window; WhatsApp inside 24 h."""
    if conv.channel == "sms":
        return True
    return window_state(conv.window_expires_at, utc_now()) in ("open", "closing")


def render(
    *, session: Session, account_id: int, reply_id: int, conversation_id: int, user_id: int
) -> str:
    """The reply's text for this conversation, variables filled in; refused outside the
    window (WhatsApp) and for anything not of this account."""
    reply = _own(session, account_id, reply_id)
    conv = session.get(Conversation, int(conversation_id or 0))
    if conv is None or conv.account_id != account_id:
        raise CannedError("That conversation isn't in your inbox.")
    if not window_allows(conv):
        raise CannedError(WINDOW_CLOSED)
    contact = session.get(Contact, conv.contact_id)
    name = " ".join(((contact.name or contact.profile_name) if contact else "").split())
    agent = session.get(User, int(user_id or 0))
    agent_name = display_name(agent) if agent is not None and agent.account_id == account_id else ""
    values = {
        "first_name": name.split()[0] if name else "there",
        "name": name or "there",
        "agent_name": agent_name,
    }
    return fill(reply.body, values)
