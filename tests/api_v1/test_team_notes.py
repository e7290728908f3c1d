"""Issue 15: an internal note is refused by every path that sends: the outbox's retry and
"Resend as SMS" (which act on message ids; a note's row in the thread carries a negative id)
and the public API (its message routes never list or return a note). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from ctreflex.models import Message, User
from ctreflex.services import notes, outbound, sms
from ctreflex.services.outbound import SendRefused
from tests.api_v1.conftest import BAKERY, account_id, auth, conversation_of

MARIA = "+12125550142"
SECRET = "NOTE-ONLY-FOR-THE-TEAM 4471"


def test_no_send_path_reaches_a_note(client, key, seeded):
    bakery = account_id(BAKERY)
    conv_id = conversation_of(MARIA)
    admin = seeded.exec(select(User).where(User.email == "admin@demo.test")).one()
    messages_before = len(seeded.exec(select(Message)).all())
    notes.create_note(
        session=seeded,
        account_id=bakery,
        conversation_id=conv_id,
        author_user_id=admin.id,
        body=SECRET,
    )
    seeded.commit()
    row = next(
        r
        for r in notes.thread_rows(
            session=seeded, account_id=bakery, conversation_id=conv_id, tz="UTC"
        )
        if r.direction == "note"
    )
    assert row.id < 0 and not row.retryable and not row.resend_offered
    for act in (outbound.retry, sms.resend_as_sms):
        with pytest.raises(SendRefused):
            asyncio.run(act(account_id=bakery, user_id=admin.id, message_id=row.id))
    assert len(seeded.exec(select(Message)).all()) == messages_before  # nothing queued

    listed = client.get(f"/api/v1/conversations/{conv_id}/messages", headers=auth(key))
    assert listed.status_code == 200 and SECRET not in listed.text
    note_row = client.get(f"/api/v1/messages/{row.id}", headers=auth(key))
    assert note_row.status_code in (404, 422) and SECRET not in note_row.text
    same_number = client.get(f"/api/v1/messages/{-row.id}", headers=auth(key))  # a message's
    assert SECRET not in same_number.text  # id space: the note is never what it returns
