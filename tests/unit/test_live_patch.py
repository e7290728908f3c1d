"""The live list's row patch (pages/inbox/listing.py `merge_rows`, services/list_order.py): after
a batch of events, a tab reads only the rows of the conversations the batch names and puts them
in its list. The patched list must equal a fresh load of the same view, whatever the change:
a new conversation, a message moving one to the top, read/unread under the Unread filter, an
assignment taking one out of the Unassigned view, a search, the closing-soonest sort.

Plus the broker's coalescing: a burst of events reaches a tab's listener as one batch."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlmodel import select

from ctreflex import realtime
from ctreflex.models import Account, Contact, Conversation, Message, User, utc_now
from ctreflex.pages.inbox.listing import list_for, merge_rows
from ctreflex.realtime import Broker
from ctreflex.services import conversations as convs
from ctreflex.services import inbox_views
from tests.factories import make_message

TZ = "Europe/Madrid"


@pytest.fixture
def bakery(seeded) -> Account:
    return seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()


def _conv(s, name: str) -> Conversation:
    return s.exec(select(Conversation).join(Contact).where(Contact.name == name)).one()


def _view(
    account, view="all", status="open", query="", list_filter="all", sort="recent", user_id=0
):
    scope = inbox_views.scope_for(view, status, 2, user_id)
    return (account.id, TZ, query, list_filter, sort, scope, (0, 0))


def _comparable(rows):
    """The rows as a fresh load shows them; the two texts that count down by the minute
    (window_text, window_short: the browser counts them down from window_expires_ms) are left
    out, so a minute turning between two loads cannot fail the test."""
    return [dataclasses.replace(r, window_text="", window_short="") for r in rows]


def _patched_equals_fresh(s, view, before, ids):
    patch = list_for(s, *view, ids=frozenset(ids))
    merged = merge_rows(before.rows, before.keys, patch)
    assert merged is not None
    rows, keys = merged
    fresh = list_for(s, *view)
    assert [r.id for r in rows] == [r.id for r in fresh.rows]
    assert _comparable(rows) == _comparable(fresh.rows)
    assert keys == fresh.keys
    assert patch.counts == fresh.counts
    return rows


def _inbound(s, conv: Conversation, body: str) -> Message:
    """What the inbound pipeline writes for a customer's text (row, preview, unread, window)."""
    return make_message(s, conv, body=body)


def test_a_message_moves_its_conversation_to_the_top(seeded, bakery):
    view = _view(bakery)
    before = list_for(seeded, *view)
    last = before.rows[-1]
    conv = seeded.get(Conversation, last.id)
    _inbound(seeded, conv, "Are you open on Sunday?")
    rows = _patched_equals_fresh(seeded, view, before, {conv.id})
    assert rows[0].id == conv.id and rows[0].preview == "Are you open on Sunday?"
    assert rows[0].unread == last.unread + 1


def test_a_new_conversation_is_inserted_where_the_sort_puts_it(seeded, bakery):
    for sort in ("recent", "closing"):
        view = _view(bakery, sort=sort)
        before = list_for(seeded, *view)
        contact = Contact(
            account_id=bakery.id,
            e164=f"+1212555{len(before.rows):04d}",
            name=f"New Customer {sort}",
        )
        seeded.add(contact)
        seeded.flush()
        conv = Conversation(account_id=bakery.id, contact_id=contact.id, channel="whatsapp")
        seeded.add(conv)
        seeded.flush()
        _inbound(seeded, conv, "Hello, first time here")
        rows = _patched_equals_fresh(seeded, view, before, {conv.id})
        assert conv.id in [r.id for r in rows]


def test_read_and_unread_under_the_unread_filter(seeded, bakery):
    view = _view(bakery, list_filter="unread")
    before = list_for(seeded, *view)
    conv = _conv(seeded, "Maria Lopez")
    _inbound(seeded, conv, "Hello?")
    rows = _patched_equals_fresh(seeded, view, before, {conv.id})
    assert conv.id in [r.id for r in rows]  # unread: it joins the Unread filter
    before = list_for(seeded, *view)
    assert convs.mark_read(session=seeded, account_id=bakery.id, conversation_id=conv.id)
    rows = _patched_equals_fresh(seeded, view, before, {conv.id})
    assert conv.id not in [r.id for r in rows]  # read: it leaves it


def test_an_assignment_takes_a_conversation_out_of_the_unassigned_view(seeded, bakery):
    agent = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    unassigned = _view(bakery, view="unassigned")
    mine = _view(bakery, view="mine", user_id=agent.id)
    before_unassigned = list_for(seeded, *unassigned)
    before_mine = list_for(seeded, *mine)
    conv = seeded.get(Conversation, before_unassigned.rows[0].id)
    conv.assignee_id = agent.id
    seeded.add(conv)
    seeded.commit()
    rows = _patched_equals_fresh(seeded, unassigned, before_unassigned, {conv.id})
    assert conv.id not in [r.id for r in rows]
    rows = _patched_equals_fresh(seeded, mine, before_mine, {conv.id})
    assert [r.assignee_id for r in rows if r.id == conv.id] == [agent.id]


def test_a_search_and_the_closing_sort_follow_the_changed_rows(seeded, bakery):
    conv = _conv(seeded, "Maria Lopez")
    searched = _view(bakery, query="croissant")
    before = list_for(seeded, *searched)
    assert conv.id not in [r.id for r in before.rows]
    _inbound(seeded, conv, "Two croissants please")  # the text now matches the search
    rows = _patched_equals_fresh(seeded, searched, before, {conv.id})
    assert conv.id in [r.id for r in rows]
    closing = _view(bakery, sort="closing")
    before = list_for(seeded, *closing)
    conv.window_expires_at = utc_now() + dt.timedelta(minutes=5)  # closes first now
    seeded.add(conv)
    seeded.commit()
    rows = _patched_equals_fresh(seeded, closing, before, {conv.id})
    assert rows[0].id == conv.id


def test_a_patch_that_cannot_equal_a_fresh_load_asks_for_one(seeded, bakery):
    view = _view(bakery, list_filter="unread")
    before = list_for(seeded, *view)
    assert before.rows
    conv = seeded.get(Conversation, before.rows[0].id)
    assert convs.mark_read(session=seeded, account_id=bakery.id, conversation_id=conv.id)
    patch = list_for(seeded, *view, ids=frozenset({conv.id}))
    # the tab shows as many rows as its pages hold: the list may have been cut there
    full = dataclasses.replace(patch, limit=len(before.rows))
    assert merge_rows(before.rows, before.keys, full) is None  # the next row is not known
    assert merge_rows(before.rows, {}, patch) is None  # nor are the other rows' places


def test_a_row_coming_into_a_full_page_asks_for_a_fresh_load(seeded, bakery):
    """The tab's last row would go to the next page: the cursor of "Show more" would skip it,
    so the tab loads its pages again instead of patching."""
    view = _view(bakery, list_filter="unread")
    before = list_for(seeded, *view)
    conv = next(
        c
        for c in seeded.exec(select(Conversation).where(Conversation.account_id == bakery.id))
        if c.id not in {r.id for r in before.rows}
    )
    _inbound(seeded, conv, "Me too!")
    patch = list_for(seeded, *view, ids=frozenset({conv.id}))
    assert [r.id for r in patch.rows] == [conv.id]
    assert (
        merge_rows(before.rows, before.keys, dataclasses.replace(patch, limit=len(before.rows)))
        is None
    )
    assert merge_rows(before.rows, before.keys, patch) is not None  # room on the page: patched


def test_a_burst_of_events_reaches_a_listener_as_one_batch(monkeypatch):
    """20 events published one after the other, as the processor or the Redis reader does
    (each may give the loop a tick): the listener wakes once and takes them all."""
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)
    # the wall-clock cap (5 ms) is not what this test is about: on a busy machine the process
    # may be off its core longer than that in the middle of the burst
    monkeypatch.setattr(realtime, "COALESCE_S", 5.0)

    async def scenario():
        broker = Broker()
        async with broker.subscribe(1) as sub:
            waiting = asyncio.ensure_future(sub.next_batch(2))
            await asyncio.sleep(0.01)  # the listener is waiting, as between two messages

            async def burst():
                for n in range(20):
                    await broker.publish(
                        1, {"type": "message", "conversation_id": 7, "message_id": n + 1}
                    )
                    await asyncio.sleep(0)  # a tick between events

            await burst()
            first = await waiting
            rest = await sub.next_batch(0.1)
            return first, rest

    first, rest = asyncio.run(scenario())
    assert [e["message_id"] for e in first] == list(range(1, 21))
    assert rest == []


def _inbox_tab(account: Account, user: User, conv: Conversation):
    """A real inbox state tree (no socket) signed in as `user`, with `conv` open."""
    import reflex as rx

    from ctreflex.pages.inbox.composer import ComposerState
    from ctreflex.pages.inbox.thread import InboxState

    root = rx.State(_reflex_internal_init=True)
    inbox = root.get_substate(InboxState.get_full_name().split(".")[1:])
    composer = root.get_substate(ComposerState.get_full_name().split(".")[1:])
    inbox._account_id, inbox._user_id, inbox._tz = account.id, user.id, TZ
    inbox.open_id = conv.id
    return inbox, composer


def test_a_stream_that_never_pauses_still_reaches_the_listener(monkeypatch):
    """Events arriving on every tick without end: the listener does not wait for a pause that
    never comes; it takes what came within the coalescing time and the rest in the next batch."""
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)
    monkeypatch.setattr(realtime, "COALESCE_S", 0.003)

    async def scenario():
        broker = Broker()
        sent = 0
        async with broker.subscribe(1) as sub:

            async def stream():
                nonlocal sent
                while True:
                    sent += 1
                    await broker.publish(
                        1, {"type": "message", "conversation_id": 7, "message_id": sent}
                    )
                    await asyncio.sleep(0)

            streaming = asyncio.ensure_future(stream())
            try:
                first = await asyncio.wait_for(sub.next_batch(2), 10)
                second = await asyncio.wait_for(sub.next_batch(2), 10)
            finally:
                streaming.cancel()
            return first, second, sub.overflowed

    first, second, overflowed = asyncio.run(scenario())
    ids = [e["message_id"] for e in first + second]
    # cut at the coalescing time: a few hundred events (~15 us each), not a full queue
    assert first and second and not overflowed
    assert ids[0] == 1 and ids == sorted(set(ids))  # in order, none twice


def test_a_live_read_started_before_the_agents_own_action_does_not_undo_it(seeded, bakery):
    """The listener reads the open conversation and the list unlocked, then puts them in the
    tab. If the agent acted in between (picked SMS for the next send), the tab's own read is
    newer: the listener's must not put the old channel back (CI saw the next message go out
    on WhatsApp)."""
    from ctreflex.pages.inbox import live, opened

    agent = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    maria = _conv(seeded, "Maria Lopez")
    inbox, composer = _inbox_tab(bakery, agent, maria)
    inbox._load_open(seeded)
    assert inbox.detail.channel == "whatsapp"
    gens = (inbox._list_gen, inbox._open_gen)  # the listener plans ...
    stale = opened.open_view(seeded, bakery.id, maria.id, TZ)  # ... and reads, unlocked
    composer.choose_channel("sms")  # meanwhile the agent picks SMS
    assert inbox.detail.channel == "sms"
    batch = [{"type": "message", "conversation_id": maria.id}]
    asyncio.run(inbox._refresh(batch, False, None, live.Plan(None, 0, None), stale, gens))
    assert inbox.detail.channel == "sms"  # read again, not the listener's older read
    assert [o.channel for o in inbox.channel_options if o.selected] == ["sms"]

    gens = (inbox._list_gen, inbox._open_gen)  # nothing happened in between: the read is used
    fresh = opened.open_view(seeded, bakery.id, maria.id, TZ)
    inbox.detail = dataclasses.replace(inbox.detail, name="(stale)")
    asyncio.run(inbox._refresh(batch, False, None, live.Plan(None, 0, None), fresh, gens))
    assert inbox.detail == fresh.detail
