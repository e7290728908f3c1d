"""Message-text search through the database's text index (migration a11c0e000012): SQLite's
FTS5 table `message_fts` (trigram tokenizer, kept in step by triggers on `message`), or on
PostgreSQL a GIN trigram index on lower(body). Both find the messages that contain a text of
3 characters or more, case ignored, without reading every message. Never imports reflex."""

from __future__ import annotations

import dataclasses
import unicodedata

from sqlalchemy import Select, column, func, or_, table, union
from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, Message
from ctreflex.models.contact import fold_for_search

MIN_TEXT = 3  # trigrams: a shorter text has none to look up

_FTS = table("message_fts", column("rowid"), column("message_fts"))


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 string (a phrase: with trigrams, "contains this text")."""
    return '"' + text.replace('"', '""') + '"'


COMMON = 2000  # more matching messages than this, spread out: walk the list (`_common`)


def _message_match(session: Session, text: str):
    """A WHERE clause on Message: its body contains `text` (lower case), by the text index."""
    if session.get_bind().dialect.name == "sqlite":
        hits = select(_FTS.c.rowid).where(_FTS.c.message_fts.op("MATCH")(fts_phrase(text)))
        return Message.id.in_(hits)
    return func.lower(Message.body).contains(text, autoescape=True)


def text_matches(session: Session, account_id: int, text: str):
    """A SELECT of the ids of the account's conversations having a message that contains
    `text` (lower case, at least MIN_TEXT characters)."""
    return select(Message.conversation_id).where(
        Message.account_id == account_id, _message_match(session, text)
    )


def _common(session: Session, text: str) -> bool:
    """Whether `text` is common enough that walking the list until a page is full (each
    conversation checking its own messages) costs less than mapping every match to its
    conversation: more than COMMON messages (of any account) contain it, and the first
    COMMON + 1 of them lie in more than COMMON / 4 conversations. A text repeated in a few
    threads (an order number in one long thread) would make the walk read every conversation
    of the list for want of matches (1 s at 100,000 conversations): it maps its matches.
    ('thanks': 950-1,290 conversations in any 2,001 consecutive matches of the bench's year;
    PostgreSQL's sample starts wherever its synchronized table scans are.)
    SQLite takes the first FTS hits; PostgreSQL the first matching messages (the trigram index
    for a rare text, for a common one the table until COMMON + 1 match: 'thanks', in 115k of
    1M messages, 7 ms, against 230 ms to map every hit)."""
    if session.get_bind().dialect.name == "sqlite":
        first = (
            select(_FTS.c.rowid)
            .where(_FTS.c.message_fts.op("MATCH")(fts_phrase(text)))
            .limit(COMMON + 1)
            .subquery()
        )
        hits = select(Message.conversation_id).join(first, first.c.rowid == Message.id)
    else:
        hits = select(Message.conversation_id).where(_message_match(session, text))
        hits = hits.limit(COMMON + 1)
    sample = hits.subquery()
    found, spread = session.exec(
        select(func.count(), func.count(sample.c.conversation_id.distinct()))
    ).one()
    return found > COMMON and spread > COMMON // 4


def search_clause(session: Session, account_id: int, query: str):
    """Name (accents and case ignored: "sofia" finds "Sofía"), number ("+34" finds Spanish
    numbers, "612 34" finds +34 612 345 678) or message text (MIN_TEXT characters or more,
    `text_matches`). Each side is a set of ids the database finds through its indexes; the
    list then orders the conversations they name. A common text on PostgreSQL: a `Walk`,
    which the list applies itself."""
    # control characters and lone surrogates are not text anyone searches for, and NUL is
    # refused by PostgreSQL: each becomes a space
    q = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in query)
    q = " ".join(q.split()).lower()
    if not q:
        return None
    # search_key holds name and profile name folded (the ORM keeps it on every insert and
    # update): one LIKE over it answers what lower(name) and lower(profile_name) would
    contact = [Contact.search_key.contains(fold_for_search(q), autoescape=True)]
    digits = "".join(c for c in q if c.isdigit())
    looks_like_number = bool(digits) and not any(c.isalpha() for c in q)
    if looks_like_number and q.startswith("+"):
        contact.append(Contact.e164.startswith("+" + digits, autoescape=True))
    elif looks_like_number and len(digits) >= 3:
        contact.append(Contact.e164.contains(digits, autoescape=True))
    contact_ids = select(Contact.id).where(Contact.account_id == account_id, or_(*contact))
    found = select(Conversation.id).where(
        Conversation.account_id == account_id, Conversation.contact_id.in_(contact_ids)
    )
    if len(q) < MIN_TEXT:
        return Conversation.id.in_(found)
    if _common(session, q):  # a word in every other message: each conversation checks its own
        if session.get_bind().dialect.name != "sqlite":
            return Walk(contact_ids, q)
        own = select(Message.id).where(
            Message.conversation_id == Conversation.id, _message_match(session, q)
        )
        return or_(Conversation.id.in_(found), own.exists())
    return Conversation.id.in_(union(found, text_matches(session, account_id, q)))


@dataclasses.dataclass(frozen=True)
class Walk:
    """A common text on PostgreSQL (`_common`): the list checks each conversation it reads in
    its order, after every other filter, until a page is full (conversations.list_page runs
    the filtered, ordered list as a subquery and applies `clause` outside it). Put in the
    list's own WHERE, PostgreSQL would turn the check into one hash of every match, or check
    it before a label's join: 'croissant' (17k messages) with a label 213 ms, against 17 ms."""

    contact_ids: Select  # the account's contacts whose name or number matches
    text: str  # lower case, MIN_TEXT characters or more

    def clause(self, conv):
        """A WHERE clause on `conv` (Conversation or an alias of it): a matching contact, or a
        message of its own containing the text (a scalar subquery: a probe of this
        conversation's messages, which PostgreSQL does not hash as it does an EXISTS)."""
        own = select(Message.id).where(
            Message.conversation_id == conv.id,
            func.lower(Message.body).contains(self.text, autoescape=True),
        )
        return or_(
            conv.contact_id.in_(self.contact_ids), own.limit(1).scalar_subquery().is_not(None)
        )
