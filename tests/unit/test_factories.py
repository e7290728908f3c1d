"""The factories (tests/factories.py) build what the app then shows: their accounts sign in,
their conversations list in the inbox with the right window and unread count, on both databases."""

from __future__ import annotations

from ctreflex.services import auth, conversations
from tests.factories import (
    PASSWORD,
    make_account,
    make_contact,
    make_conversation,
    make_message,
    unique_phone,
)


def test_an_account_of_its_own_signs_in_and_sees_only_its_own_conversations(session):
    mine = make_account(session, whatsapp=True, sms=True)
    other = make_account(session)
    conv = make_conversation(
        session, mine.account, unread=1, window_hours_left=3, inbound=("first", "second")
    )
    make_conversation(session, other.account, name="Someone Else")

    token = auth.login(session=session, email=mine.users["agent"].email, password=PASSWORD)
    assert auth.resolve(session=session, token=token).account_id == mine.account.id
    rows = conversations.list_rows(session=session, account_id=mine.account.id, tz="UTC")
    assert [(r.id, r.name) for r in rows] == [(conv.id, conv_name(session, conv))]
    unread = conversations.list_rows(
        session=session, account_id=mine.account.id, tz="UTC", filter="unread"
    )
    assert [r.id for r in unread] == [conv.id]
    assert set(mine.numbers) == {"whatsapp", "sms"}
    assert mine.login("admin") == (mine.users["admin"].email, PASSWORD)


def test_messages_move_the_conversation_and_numbers_never_repeat(session):
    tenant = make_account(session)
    conv = make_conversation(session, tenant.account, window_hours_left=None)
    assert conv.window_expires_at is None and conv.unread_count == 0
    make_message(session, conv, body="Hi there", direction="inbound")
    reply = make_message(session, conv, body="Hello!", direction="outbound", status="read")
    assert reply.read_at is not None and reply.sent_at is not None
    assert conv.last_preview == "Hello!" and conv.unread_count == 1
    assert conv.window_expires_at is not None

    numbers = {unique_phone() for _ in range(300)}
    assert len(numbers) == 300
    assert make_contact(session, tenant.account).e164 != make_contact(session, tenant.account).e164


def conv_name(session, conv) -> str:
    from ctreflex.models import Contact

    return session.get(Contact, conv.contact_id).name
