"""Reactions both ways (issue 14 item 4): the customer's reaction is one badge on the message it
reacts to (not a second bubble), and the business reacts, changes and removes its reaction
through the Cloud API (the simulator records the request)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Contact, Conversation, Message
from ctreflex.services import outbound, reactions, thread_view
from tests.api.conftest import wait_for

MARIA = "12125550142"  # a seeded demo customer with an open window


def _conversation(wa_id: str) -> Conversation:
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.wa_id == wa_id)).one()
        return s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()


def _by_wamid(wamid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == wamid)).first()


def _thread(conv: Conversation) -> list[thread_view.MessageRow]:
    with Session(db.get_engine()) as s:
        return thread_view.thread_rows(
            session=s, account_id=conv.account_id, conversation_id=conv.id, tz="UTC", limit=500
        )


def _reaction_requests(live_api) -> list[dict]:
    outbox = live_api.control("GET", "/outbox", params={"to": MARIA}).json()["messages"]
    return [o["request"]["reaction"] for o in outbox if o["request"].get("type") == "reaction"]


def _customer_says(live_api, text: str) -> Message:
    r = live_api.control(
        "POST", f"/customers/{MARIA}/messages", json={"type": "text", "text": text}
    )
    assert r.status_code == 200, r.text
    return wait_for(lambda: _by_wamid(r.json()["wamid"]))


def test_business_reacts_changes_and_removes_its_reaction(live_api):
    inbound = _customer_says(live_api, "Do you have gluten-free bread?")
    conv = _conversation(MARIA)

    def react(emoji: str) -> int:
        return live_api.run(
            reactions.react(
                account_id=conv.account_id,
                user_id=1,
                conversation_id=conv.id,
                message_id=inbound.id,
                emoji=emoji,
            )
        )

    first = react("👍")
    assert _reaction_requests(live_api)[-1] == {"message_id": inbound.provider_message_id,
                                                "emoji": "👍"}
    row = next(r for r in _thread(conv) if r.id == inbound.id)
    assert row.my_reaction == "👍"
    # the reaction itself is a badge, never a bubble of its own
    assert first not in [r.id for r in _thread(conv)]
    with Session(db.get_engine()) as s:
        assert s.get(Message, first).status in ("accepted", "sent", "delivered", "read")
        assert s.get(Conversation, conv.id).last_preview == "Reacted 👍"

    react("❤️")
    assert _reaction_requests(live_api)[-1]["emoji"] == "❤️"
    assert next(r for r in _thread(conv) if r.id == inbound.id).my_reaction == "❤️"

    react("")
    assert _reaction_requests(live_api)[-1]["emoji"] == ""
    assert next(r for r in _thread(conv) if r.id == inbound.id).my_reaction == ""


def test_customer_reaction_is_one_badge_on_the_business_message(live_api):
    _customer_says(live_api, "Can I pick up at 5?")
    conv = _conversation(MARIA)
    message_id = live_api.run(
        outbound.send_text(
            account_id=conv.account_id, user_id=1, conversation_id=conv.id, body="Yes, see you!"
        )
    )
    with Session(db.get_engine()) as s:
        wamid = s.get(Message, message_id).provider_message_id
    r = live_api.control(
        "POST",
        f"/customers/{MARIA}/messages",
        json={"type": "reaction", "emoji": "🙏", "reaction_to": wamid},
    )
    assert r.status_code == 200, r.text
    reaction = wait_for(lambda: _by_wamid(r.json()["wamid"]))
    wait_for(lambda: next(x for x in _thread(conv) if x.id == message_id).reaction == "🙏")
    rows = _thread(conv)
    assert reaction.id not in [x.id for x in rows], "the reaction was drawn as a bubble too"


@pytest.mark.parametrize(
    ("emoji", "expect"),
    [("🦄", "Pick one of the reactions offered."), ("", "no reaction of yours to remove")],
)
def test_refusals_before_any_call(live_api, emoji, expect):
    inbound = _customer_says(live_api, "Hello")
    conv = _conversation(MARIA)
    before = len(_reaction_requests(live_api))
    with pytest.raises(outbound.SendRefused) as refused:
        live_api.run(
            reactions.react(
                account_id=conv.account_id,
                user_id=1,
                conversation_id=conv.id,
                message_id=inbound.id,
                emoji=emoji,
            )
        )
    assert expect in refused.value.message
    assert len(_reaction_requests(live_api)) == before


def test_closed_window_and_foreign_messages_are_refused(live_api):
    with Session(db.get_engine()) as s:
        closed = s.exec(
            select(Conversation)
            .where(Conversation.window_expires_at.is_not(None))
            .order_by(Conversation.window_expires_at)
        ).first()
        target = s.exec(
            select(Message).where(
                Message.conversation_id == closed.id,
                Message.provider_message_id.is_not(None),
                Message.channel == "whatsapp",
                Message.kind != "reaction",
            )
        ).first()
        other = s.exec(
            select(Message).where(
                Message.conversation_id != closed.id, Message.provider_message_id.is_not(None)
            )
        ).first()
    assert target is not None and other is not None
    with pytest.raises(outbound.SendRefused) as refused:
        live_api.run(
            reactions.react(
                account_id=closed.account_id, user_id=1, conversation_id=closed.id,
                message_id=target.id, emoji="👍",
            )
        )
    assert refused.value.field == "window"
    with pytest.raises(outbound.SendRefused) as refused:
        live_api.run(
            reactions.react(
                account_id=closed.account_id, user_id=1, conversation_id=closed.id,
                message_id=other.id, emoji="👍",
            )
        )
    assert "not in this conversation" in refused.value.message
