"""What the inbox shows of the open conversation (header, thread, contact ledger, channels and
price), read in one go: by a tab opening it, and by the live listener once per batch of events
for all the tabs of the worker that have it open (pages/inbox/live.py shares it; nothing in it
depends on who looks, only on the account, the conversation and the time zone)."""

from __future__ import annotations

import dataclasses
import time

from ctreflex import db
from ctreflex.models import utc_now
from ctreflex.services import conversations as convs
from ctreflex.services import inbox_views, notes, sms, templates, thread_view
from ctreflex.services.conversations import ConversationDetail, LedgerEntry
from ctreflex.services.sms import ChannelOption
from ctreflex.services.thread_view import MessageRow


@dataclasses.dataclass(frozen=True)
class OpenView:
    conversation_id: int
    detail: ConversationDetail
    messages: list[MessageRow]
    ledger: list[LedgerEntry]
    channel_options: list[ChannelOption]
    cost_line: str
    edge: float  # epoch s when the conversation next changes by itself (window, snooze), 0
    since: str = ""  # the oldest message asked for (older pages loaded), "" the newest page
    has_older: bool = False  # older messages than those in `messages`
    oldest: str = ""  # the oldest message in `messages` (thread_view.encode_key)


def channel_facts(session, account_id: int, conversation_id: int) -> tuple[list, str]:
    """What each channel allows now, and the price of a free-form message on the
    conversation's channel."""
    options = sms.channel_options(
        session=session, account_id=account_id, conversation_id=conversation_id
    )
    cost = templates.cost(
        session=session, account_id=account_id, conversation_id=conversation_id, template_id=None
    ).summary
    return options, cost


def open_view(
    session, account_id: int, conversation_id: int, tz: str, since: str = ""
) -> OpenView | None:
    """The account's conversation as the inbox shows it: its newest page of messages, or
    every message from `since` (a thread_view key: the tab loaded older pages); None when it
    is not the account's."""
    now = utc_now()
    detail = convs.get_detail(
        session=session, account_id=account_id, conversation_id=conversation_id, tz=tz, now=now
    )
    if detail is None:
        return None
    [detail] = inbox_views.decorate(  # the team inbox: assignee and status
        session=session, account_id=account_id, items=[detail], tz=tz, now=now
    )
    page = notes.thread_page(  # the messages with the team's notes among them
        session=session,
        account_id=account_id,
        conversation_id=conversation_id,
        tz=tz,
        now=now,
        since=thread_view.decode_key(since),
    )
    ledger = convs.ledger_rows(
        session=session, account_id=account_id, conversation_id=conversation_id, tz=tz
    )
    options, cost = channel_facts(session, account_id, conversation_id)
    edge = convs.next_window_change([detail.window_expires_ms], now)
    edge = inbox_views.next_edge(detail, edge, now)  # the team inbox: a snooze's end
    return OpenView(
        conversation_id=conversation_id,
        detail=detail,
        messages=page.rows,
        ledger=ledger,
        channel_options=options,
        cost_line=cost,
        edge=time.time() + edge if edge is not None else 0.0,
        since=since,
        has_older=page.has_older,
        oldest=thread_view.encode_key(page.oldest),
    )


def compute_open(
    account_id: int, conversation_id: int, tz: str, since: str = ""
) -> OpenView | None:
    """Runs in a worker thread (the live listener's shared reload)."""
    with db.session_scope() as session:
        return open_view(session, account_id, conversation_id, tz, since)
