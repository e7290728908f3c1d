"""Internal notes and @mentions (issue 15).

A note is the team talking among itself inside a conversation: it is stored in its own table,
never as a Message, so nothing that sends (the composer's send, the outbox's retry, "Resend as
SMS", the public API) can ever reach it, and the customer never sees it. Mentions are found
on the server in the note's text ("@Ben Ode"), among the active users of the note's account;
a mention is unread until the mentioned user opens the conversation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import func
from sqlmodel import Session, select

from ctreflex.models import Conversation, Mention, Message, Note, User, utc_now
from ctreflex.services import conversations as convs
from ctreflex.services import labels, thread_view
from ctreflex.services.thread_view import MessageRow
from ctreflex.services.timefmt import zone

MAX_NOTE_CHARS = 4000
NOTE_LIMIT = 300  # the latest notes a thread shows (as the messages: THREAD_LIMIT)


class NoteError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class MentionOption:
    id: int
    name: str  # what "@" inserts: the user's name, or the e-mail's local part
    email: str


@dataclasses.dataclass(frozen=True)
class NoteResult:
    note_id: int
    mentioned_ids: tuple[int, ...]


def display_name(user: User) -> str:
    return " ".join((user.name or "").split()) or user.email.split("@", 1)[0]


def mention_options(*, session: Session, account_id: int) -> list[MentionOption]:
    """The account's active users, as "@" offers them."""
    users = session.exec(
        select(User).where(User.account_id == account_id, User.active.is_(True))
    ).all()
    options = [MentionOption(id=u.id, name=display_name(u), email=u.email) for u in users]
    return sorted(options, key=lambda o: o.name.lower())


def find_mentions(body: str, options: list[MentionOption]) -> set[int]:
    """Ids of the users named as "@Name" in `body` (case ignored; the longest name wins, so
    "@Ada Baker" is Ada Baker and not a user called Ada)."""
    found: set[int] = set()
    text = body
    for option in sorted(options, key=lambda o: -len(o.name)):
        pattern = re.compile(r"@" + re.escape(option.name) + r"(?![\w])", re.IGNORECASE)
        if pattern.search(text):
            found.add(option.id)
            text = pattern.sub(" ", text)
    return found


def create_note(
    *, session: Session, account_id: int, conversation_id: int, author_user_id: int, body: str
) -> NoteResult:
    """Store a note in the account's conversation and the mentions it makes."""
    body = (body or "").strip()
    if not body:
        raise NoteError("Type the note first.")
    if len(body) > MAX_NOTE_CHARS:
        raise NoteError(
            f"A note can be at most {MAX_NOTE_CHARS:,} characters; this one has {len(body):,}."
        )
    conv = session.get(Conversation, int(conversation_id or 0))
    if conv is None or conv.account_id != account_id:
        raise NoteError("That conversation isn't in your inbox.")
    author = session.get(User, int(author_user_id or 0))
    if author is None or author.account_id != account_id or not author.active:
        raise NoteError("Sign in again to add a note.")
    note = Note(account_id=account_id, conversation_id=conv.id, author_user_id=author.id, body=body)
    session.add(note)
    session.flush()
    options = mention_options(session=session, account_id=account_id)
    mentioned = sorted(find_mentions(body, options) - {author.id})
    for user_id in mentioned:
        session.add(
            Mention(
                account_id=account_id, note_id=note.id, conversation_id=conv.id, user_id=user_id
            )
        )
    session.flush()
    return NoteResult(note_id=note.id, mentioned_ids=tuple(mentioned))


def mark_mentions_read(
    *, session: Session, account_id: int, user_id: int, conversation_id: int
) -> int:
    """The user opened the conversation: their mentions in it are read. How many were unread."""
    rows = session.exec(
        select(Mention).where(
            Mention.account_id == account_id,
            Mention.user_id == user_id,
            Mention.conversation_id == conversation_id,
            Mention.read_at.is_(None),
        )
    ).all()
    now = utc_now()
    for mention in rows:
        mention.read_at = now
        session.add(mention)
    if rows:
        session.flush()
    return len(rows)


def unread_mentions(*, session: Session, account_id: int, user_id: int) -> int:
    """Conversations with a mention of this user that they have not opened since."""
    return int(
        session.exec(
            select(func.count(func.distinct(Mention.conversation_id))).where(
                Mention.account_id == account_id,
                Mention.user_id == user_id,
                Mention.read_at.is_(None),
            )
        ).one()
        or 0
    )


def mentioned_clause(user_id: int):
    """A WHERE clause on Conversation: a note in it mentions this user (a set of ids the
    database makes once, not a probe per conversation)."""
    return Conversation.id.in_(
        select(Mention.conversation_id).where(Mention.user_id == int(user_id))
    )


# ------------------------------------------------------------------------------ the thread


def _note_row(note: Note, author: User | None, at: dt.datetime) -> MessageRow:
    return MessageRow.blank(
        id=-int(note.id),  # never a message id: no message action can name it
        direction="note",
        kind="note",
        body=note.body,
        time=at.strftime("%H:%M"),
        timestamp=f"{at.strftime('%a')} {at.day} {at.strftime('%b %Y, %H:%M')}",
        status_label="Internal note",
        sender=display_name(author) if author is not None else "Former user",
        tag="Internal note",
        channel="",
        channel_label="",
    )


def thread_rows(**kwargs) -> list[MessageRow]:
    """The rows of `thread_page`."""
    return thread_page(**kwargs).rows


def thread_page(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    tz: str,
    now: dt.datetime | None = None,
    before: thread_view.Key | None = None,
    since: thread_view.Key | None = None,
) -> thread_view.ThreadPage:
    """A page of the thread (services.thread_view.thread_page: the newest, the one `before` a
    message, or all `since` one) with the conversation's notes of that stretch of time in
    time order among the messages, the day separators drawn again over both."""
    now = now or utc_now()
    page = thread_view.thread_page(
        session=session,
        account_id=account_id,
        conversation_id=conversation_id,
        tz=tz,
        now=now,
        before=before,
        since=since,
    )
    rows = page.rows
    query = (
        select(Note, User)
        .outerjoin(User, User.id == Note.author_user_id)
        .where(Note.conversation_id == conversation_id, Note.account_id == account_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(NOTE_LIMIT)
    )
    if before is not None:  # the newer page starts there
        query = query.where(Note.created_at < before[0])
    if page.has_older and page.oldest is not None:  # older notes go with older messages
        query = query.where(Note.created_at >= page.oldest[0])
    notes = session.exec(query).all()
    if not notes:
        return page
    local = zone(tz)
    times = dict(
        session.exec(
            select(Message.id, Message.created_at).where(
                Message.id.in_([r.id for r in rows if r.id > 0])
            )
        ).all()
    )
    # a row that is not a message (a line another service interleaved) keeps its place: it
    # takes the time of the message before it
    keyed: list[tuple[dt.datetime, int, MessageRow]] = []
    last = min(times.values()) if times else now
    for r in rows:
        last = times.get(r.id, last) if r.id > 0 else last
        keyed.append((last, 0, r))
    for note, author in notes:
        keyed.append(
            (note.created_at, 1, _note_row(note, author, note.created_at.astimezone(local)))
        )
    keyed.sort(key=lambda item: (item[0], item[1]))
    today = now.astimezone(local).date()
    out: list[MessageRow] = []
    previous_day: dt.date | None = None
    for at, _, row in keyed:
        day = at.astimezone(local).date()
        out.append(
            dataclasses.replace(
                row, show_day=day != previous_day, day_label=convs._day_label(day, today)
            )
        )
        previous_day = day
    return dataclasses.replace(page, rows=out)


def narrow_clauses(label_id: int = 0, mentioned_user_id: int = 0) -> tuple:
    """WHERE clauses on Conversation for the list's label filter and Mentions view."""
    out = []
    if label_id:
        out.append(labels.has_label_clause(label_id))
    if mentioned_user_id:
        out.append(mentioned_clause(mentioned_user_id))
    return tuple(out)
