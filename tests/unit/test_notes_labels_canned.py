"""Issue 15 services: internal notes and @mentions, labels, canned replies (SQLite and
PostgreSQL through `db_url`). Every function is scoped to the caller's account."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from ctreflex.models import Account, Contact, Conversation, Mention, Message, Note, User, utc_now
from ctreflex.services import canned, labels, notes, thread_view
from ctreflex.services import conversations as convs
from ctreflex.services.canned import CannedError
from ctreflex.services.labels import LabelError
from ctreflex.services.notes import NoteError

TZ = "UTC"


@pytest.fixture
def world(seeded):
    s = seeded
    accounts = {a.name: a for a in s.exec(select(Account)).all()}
    bakery, harbor = accounts["Demo Bakery"], accounts["Harbor Tools"]
    users = {u.email: u for u in s.exec(select(User)).all()}
    maria = s.exec(
        select(Conversation)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Contact.name == "Maria Lopez", Conversation.account_id == bakery.id)
    ).one()
    return {
        "s": s,
        "bakery": bakery,
        "harbor": harbor,
        "admin": users["admin@demo.test"],
        "agent": users["agent@demo.test"],
        "harbor_agent": users["agent@harbor.test"],
        "maria": maria,
    }


# ------------------------------------------------------------------------------ notes


def test_note_with_mention_is_stored_apart_from_messages_and_read_on_open(world):
    s, bakery, admin, agent, maria = (world[k] for k in ("s", "bakery", "admin", "agent", "maria"))
    messages_before = s.exec(select(Message).where(Message.conversation_id == maria.id)).all()
    agent_name = notes.display_name(agent)
    result = notes.create_note(
        session=s,
        account_id=bakery.id,
        conversation_id=maria.id,
        author_user_id=admin.id,
        body=f"@{agent_name} can you call her back? Not @Nobody",
    )
    s.commit()
    assert result.mentioned_ids == (agent.id,)
    # never a message: the send paths and the public API work on messages only
    assert s.exec(select(Message).where(Message.conversation_id == maria.id)).all() == (
        messages_before
    )
    # the thread shows it in time order, drawn as a note, with no message id
    rows = notes.thread_rows(session=s, account_id=bakery.id, conversation_id=maria.id, tz=TZ)
    note_rows = [r for r in rows if r.direction == "note"]
    assert len(note_rows) == 1 and note_rows[0].id < 0
    assert note_rows[0].sender == notes.display_name(admin) and not note_rows[0].retryable
    assert rows[-1].direction == "note"  # the newest item
    # the mentioned agent: one unread, the Mentions view lists the conversation
    assert notes.unread_mentions(session=s, account_id=bakery.id, user_id=agent.id) == 1
    assert notes.unread_mentions(session=s, account_id=bakery.id, user_id=admin.id) == 0
    mine = convs.list_rows(
        session=s, account_id=bakery.id, tz=TZ, where=notes.narrow_clauses(0, agent.id)
    )
    assert [r.id for r in mine] == [maria.id]
    opened = notes.mark_mentions_read(
        session=s, account_id=bakery.id, user_id=agent.id, conversation_id=maria.id
    )
    s.commit()
    assert opened == 1
    assert notes.unread_mentions(session=s, account_id=bakery.id, user_id=agent.id) == 0


def test_notes_refuse_bad_input_and_other_accounts(world):
    s, bakery, harbor, admin, maria = (
        world[k] for k in ("s", "bakery", "harbor", "admin", "maria")
    )
    with pytest.raises(NoteError, match="Type the note"):
        notes.create_note(
            session=s,
            account_id=bakery.id,
            conversation_id=maria.id,
            author_user_id=admin.id,
            body="   ",
        )
    with pytest.raises(NoteError, match="at most"):
        notes.create_note(
            session=s,
            account_id=bakery.id,
            conversation_id=maria.id,
            author_user_id=admin.id,
            body="x" * (notes.MAX_NOTE_CHARS + 1),
        )
    with pytest.raises(NoteError, match="isn't in your inbox"):  # Harbor's agent, Bakery's id
        notes.create_note(
            session=s,
            account_id=harbor.id,
            conversation_id=maria.id,
            author_user_id=world["harbor_agent"].id,
            body="hello",
        )
    # a user of another account is never mentioned, even by name
    harbor_name = notes.display_name(world["harbor_agent"])
    result = notes.create_note(
        session=s,
        account_id=bakery.id,
        conversation_id=maria.id,
        author_user_id=admin.id,
        body=f"@{harbor_name} look",
    )
    assert result.mentioned_ids == ()
    assert s.exec(select(Mention)).all() == []
    assert len(s.exec(select(Note)).all()) == 1


def test_find_mentions_prefers_the_longest_name():
    opts = [
        notes.MentionOption(id=1, name="Ada", email="a@x.test"),
        notes.MentionOption(id=2, name="Ada Baker", email="b@x.test"),
    ]
    assert notes.find_mentions("thanks @ada baker!", opts) == {2}
    assert notes.find_mentions("@Ada and @Ada Baker", opts) == {1, 2}
    assert notes.find_mentions("mail ada@x.test", opts) == set()


# ------------------------------------------------------------------------------ labels


def test_labels_crud_on_conversations_and_list_filter(world):
    s, bakery, harbor, maria = (world[k] for k in ("s", "bakery", "harbor", "maria"))
    vip = labels.create_label(session=s, account_id=bakery.id, name=" VIP ", color="amber")
    assert vip.name == "VIP"
    with pytest.raises(LabelError, match="already a label"):
        labels.create_label(session=s, account_id=bakery.id, name="vip", color="red")
    with pytest.raises(LabelError, match="colours"):
        labels.create_label(session=s, account_id=bakery.id, name="Other", color="#ff0000")
    # the same name in another account is fine; its label can't be used here
    theirs = labels.create_label(session=s, account_id=harbor.id, name="VIP", color="red")
    assert labels.add_to_conversation(
        session=s, account_id=bakery.id, conversation_id=maria.id, label_id=vip.id
    )
    assert not labels.add_to_conversation(  # twice: no-op
        session=s, account_id=bakery.id, conversation_id=maria.id, label_id=vip.id
    )
    with pytest.raises(LabelError):
        labels.add_to_conversation(
            session=s, account_id=bakery.id, conversation_id=maria.id, label_id=theirs.id
        )
    with pytest.raises(LabelError):
        labels.add_to_conversation(
            session=s, account_id=harbor.id, conversation_id=maria.id, label_id=theirs.id
        )
    s.commit()
    rows = convs.list_rows(
        session=s, account_id=bakery.id, tz=TZ, where=notes.narrow_clauses(vip.id, 0)
    )
    assert [(r.id, [c.name for c in r.labels]) for r in rows] == [(maria.id, ["VIP"])]
    everyone = convs.list_rows(session=s, account_id=bakery.id, tz=TZ)
    assert len(everyone) == 12
    # renaming shows everywhere; removing and deleting leave nothing behind
    labels.update_label(session=s, account_id=bakery.id, label_id=vip.id, name="Gold", color="teal")
    assert [
        c.name
        for c in labels.conversation_labels(
            session=s, account_id=bakery.id, conversation_id=maria.id
        )
    ] == ["Gold"]
    with pytest.raises(LabelError):
        labels.delete_label(session=s, account_id=harbor.id, label_id=vip.id)
    labels.delete_label(session=s, account_id=bakery.id, label_id=vip.id)
    s.commit()
    assert (
        labels.conversation_labels(session=s, account_id=bakery.id, conversation_id=maria.id) == []
    )


# ------------------------------------------------------------------------------ canned


def test_canned_replies_fill_variables_inside_the_window_only(world):
    s, bakery, harbor, agent, maria = (
        world[k] for k in ("s", "bakery", "harbor", "agent", "maria")
    )
    hours = canned.create_reply(
        session=s,
        account_id=bakery.id,
        shortcut="/Hours",
        body="Hi {{first_name}}, we open at 8. {{ agent_name }}",
    )
    assert hours.shortcut == "hours"
    with pytest.raises(CannedError, match="already used"):
        canned.create_reply(session=s, account_id=bakery.id, shortcut="hours", body="x")
    with pytest.raises(CannedError, match="Unknown variable"):
        canned.create_reply(session=s, account_id=bakery.id, shortcut="x", body="{{nope}}")
    with pytest.raises(CannedError, match="one word"):
        canned.create_reply(session=s, account_id=bakery.id, shortcut="two words", body="x")
    canned.create_reply(session=s, account_id=harbor.id, shortcut="hours", body="harbor")
    s.commit()
    found = canned.list_replies(session=s, account_id=bakery.id, query="/ho")
    assert [r.shortcut for r in found] == ["hours"]
    text = canned.render(
        session=s,
        account_id=bakery.id,
        reply_id=hours.id,
        conversation_id=maria.id,
        user_id=agent.id,
    )
    assert text == f"Hi Maria, we open at 8. {notes.display_name(agent)}"
    # another account's reply is not found; outside the window it is refused
    harbor_reply = canned.list_replies(session=s, account_id=harbor.id)[0]
    with pytest.raises(CannedError):
        canned.render(
            session=s,
            account_id=bakery.id,
            reply_id=harbor_reply.id,
            conversation_id=maria.id,
            user_id=agent.id,
        )
    maria.window_expires_at = utc_now() - dt.timedelta(minutes=1)
    s.add(maria)
    s.commit()
    with pytest.raises(CannedError, match="template"):
        canned.render(
            session=s,
            account_id=bakery.id,
            reply_id=hours.id,
            conversation_id=maria.id,
            user_id=agent.id,
        )
    canned.delete_reply(session=s, account_id=bakery.id, reply_id=hours.id)
    s.commit()
    assert canned.list_replies(session=s, account_id=bakery.id) == []


def test_notes_keep_other_interleaved_lines_in_place(world, monkeypatch):
    """A line another service put among the messages (negative id, no Message) stays where it
    was; the note goes by its time."""
    import dataclasses

    s, bakery, admin, maria = (world[k] for k in ("s", "bakery", "admin", "maria"))
    real = thread_view.thread_page

    def with_line(**kw):
        page = real(**kw)
        rows = page.rows
        line = dataclasses.replace(rows[0], id=-999, direction="event", body="Ada assigned")
        return dataclasses.replace(page, rows=[rows[0], line, *rows[1:]])

    monkeypatch.setattr(thread_view, "thread_page", with_line)
    notes.create_note(
        session=s,
        account_id=bakery.id,
        conversation_id=maria.id,
        author_user_id=admin.id,
        body="newest",
    )
    s.commit()
    rows = notes.thread_rows(session=s, account_id=bakery.id, conversation_id=maria.id, tz=TZ)
    assert rows[1].id == -999  # still right after the first message
    assert rows[-1].body == "newest" and rows[-1].direction == "note"
