"""Where a conversation sits in the inbox list, as Python sort keys that order rows exactly as
conversations.list_rows' ORDER BY does (both sorts, each database's NULL order), and the clause
that narrows a list to some conversations. The live listener uses them to put the rows a batch
of events changed in their place without reloading the list (pages/inbox/listing.py,
`merge_rows`). No Reflex here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlmodel import Session, select

from ctreflex.models import Conversation

SortKey = tuple


def ids_clause(ids: Collection[int]):
    """A WHERE clause on Conversation: one of these conversations."""
    return Conversation.id.in_(sorted(int(i) for i in ids))


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    if at is not None and at.tzinfo is None:  # SQLite hands back naive UTC
        return at.replace(tzinfo=dt.UTC)
    return at


def sort_key(
    sort: str,
    conversation_id: int,
    last_message_at: dt.datetime | None,
    window_expires_at: dt.datetime | None,
    now: dt.datetime,
    *,
    nulls_high: bool,
) -> SortKey:
    """The row's place in ascending order. recent: last_message_at DESC NULLS LAST, id DESC.
    closing: still open first, the soonest to close first, then last_message_at DESC in the
    database's own NULL order (`nulls_high`: PostgreSQL, NULL sorts as the largest value, so
    first in DESC; SQLite: as the smallest, so last), id DESC."""
    last = _aware(last_message_at)
    expires = _aware(window_expires_at)
    if sort != "closing":
        return (last is None, -last.timestamp() if last else 0.0, -conversation_id)
    still_open = expires is not None and expires > now
    if last is None:
        last_key = (0 if nulls_high else 1, 0.0)
    else:
        last_key = (1 if nulls_high else 0, -last.timestamp())
    return (
        0 if still_open else 1,
        expires.timestamp() if still_open else 0.0,
        *last_key,
        -conversation_id,
    )


def sort_keys(
    *, session: Session, account_id: int, ids: Collection[int], sort: str, now: dt.datetime
) -> dict[int, SortKey]:
    """The sort key of each of the account's conversations with these ids (one query)."""
    if not ids:
        return {}
    nulls_high = session.get_bind().dialect.name == "postgresql"
    rows = session.exec(
        select(Conversation.id, Conversation.last_message_at, Conversation.window_expires_at).where(
            Conversation.account_id == account_id, ids_clause(ids)
        )
    ).all()
    return {
        cid: sort_key(sort, cid, last, expires, now, nulls_high=nulls_high)
        for cid, last, expires in rows
    }
