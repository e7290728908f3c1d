"""SMS ingest on a real database: the same conversation as WhatsApp, idempotent on the
MessageSid, STOP/START through the ledger, receipts that only move forward. SMS webhooks go
through the one journal and processor (ctreflex/inbound/): journaled, then processed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from ctreflex import db
from ctreflex.inbound import dispatch, journal
from ctreflex.models import Contact, Conversation, Message, UsageRecord, WebhookEvent
from ctreflex.services import sms
from ctreflex.services.outbound import SendRefused

MARIA = "+12125550142"


def _journal_and_process(kind: str, body: bytes, now=None):
    """What the webhook and then the processor do (the webhook answers in between)."""
    with db.session_scope() as session:
        event_id = journal.journal(session=session, provider="sms", body=body, kind=kind).id
    with db.session_scope() as session:
        outcome = dispatch.process_event(session=session, event_id=event_id, now=now)
    return event_id, outcome


def _receive(kind: str, body: bytes) -> int:
    return _journal_and_process(kind, body)[0]


def _event(session, event_id: int) -> WebhookEvent:
    session.expire_all()
    return session.get(WebhookEvent, event_id)


def _maria_conv(session) -> Conversation:
    contact = session.exec(select(Contact).where(Contact.e164 == MARIA)).one()
    return session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()


def test_inbound_sms_joins_the_whatsapp_conversation_once(seeded, sms_fixture):
    conv = _maria_conv(seeded)
    body = sms_fixture("inbound_sms")
    first = _receive("inbound", body)
    again = _receive("inbound", body)  # the provider delivers twice
    assert _event(seeded, first).state == "done" and _event(seeded, again).state == "done"
    rows = seeded.exec(select(Message).where(Message.conversation_id == conv.id)).all()
    assert {m.channel for m in rows} == {"whatsapp", "sms"}
    texts = [m for m in rows if m.channel == "sms"]
    assert len(texts) == 1
    msg = texts[0]
    assert msg.provider_message_id == "sms:SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert (msg.kind, msg.direction, msg.status) == ("text", "inbound", "received")
    seeded.expire_all()
    conv = seeded.get(Conversation, conv.id)
    assert conv.channel == "sms" and conv.last_preview.startswith("Hi! Is the sourdough")
    usage = seeded.exec(select(UsageRecord).where(UsageRecord.message_id == msg.id)).one()
    assert (usage.channel, usage.fee_minor) == ("sms", 0)


def test_inbound_mms_keeps_every_file_and_fetches_the_first(seeded, sms_fixture):
    _, outcome = _journal_and_process("inbound", sms_fixture("inbound_mms"))
    msg = seeded.exec(select(Message).where(Message.kind == "mms")).one()
    assert msg.media_id in outcome.media_to_fetch and len(msg.payload["media"]) == 2


def test_stop_then_start_by_sms(seeded, sms_fixture):
    _receive("inbound", sms_fixture("inbound_stop"))
    seeded.expire_all()
    maria = seeded.exec(select(Contact).where(Contact.e164 == MARIA)).one()
    assert maria.sms_opted_out
    conv = _maria_conv(seeded)
    replies = seeded.exec(
        select(Message).where(
            Message.conversation_id == conv.id,
            Message.direction == "outbound",
            Message.channel == "sms",
        )
    ).all()
    assert len(replies) == 1 and replies[0].payload["sent_by"] == "provider"
    with pytest.raises(SendRefused) as info:
        sms.check_send(
            session=seeded, account_id=conv.account_id, conversation_id=conv.id, body="Promo"
        )
    assert info.value.field == "optout"
    start = (
        sms_fixture("inbound_stop")
        .replace(b"Body=+Stop+", b"Body=Start")
        .replace(b"SM2b3c", b"SM9999")
    )
    _receive("inbound", start)
    seeded.expire_all()
    assert not seeded.get(Contact, maria.id).sms_opted_out


def test_yes_from_a_subscribed_customer_is_not_a_ledger_event(seeded, sms_fixture):
    yes = sms_fixture("inbound_stop").replace(b"Body=+Stop+", b"Body=Yes")
    _receive("inbound", yes)
    maria = seeded.exec(select(Contact).where(Contact.e164 == MARIA)).one()
    from ctreflex.services import optouts

    assert optouts.ledger(session=seeded, contact_id=maria.id) == []


def test_receipt_before_its_message_waits_then_moves_forward_only(seeded, sms_fixture):
    conv = _maria_conv(seeded)
    early = _receive("status", sms_fixture("status_delivered"))
    event = _event(seeded, early)
    assert event.state == "retry" and "not stored yet" in event.error
    assert early not in journal.due_event_ids(session=seeded)  # not before its retry time
    out = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction="outbound",
        channel="sms",
        kind="text",
        body="Ready!",
        status="accepted",
        business_number_id=sms.sms_numbers(seeded, conv.account_id)[0].id,
        provider_message_id="sms:SM9a8b7c6d5e4f30211203f4e5d6c7b8a9",
    )
    seeded.add(out)
    seeded.commit()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    due = journal.due_event_ids(session=seeded, now=later)
    assert early in due  # the one processor takes it with every other due event
    with db.session_scope() as session:
        dispatch.process_events(session=session, event_ids=due, now=later)
    assert _event(seeded, early).state == "done"
    seeded.expire_all()
    assert seeded.get(Message, out.id).status == "delivered"
    _receive("status", sms_fixture("status_sent"))  # late "sent": no step back
    seeded.expire_all()
    row = seeded.get(Message, out.id)
    assert row.status == "delivered" and row.sent_at is not None
    _receive("status", sms_fixture("status_undelivered"))
    seeded.expire_all()
    row = seeded.get(Message, out.id)
    assert (row.status, row.error_code) == ("failed", 30006)
    assert row.error_title == "Landline or unreachable carrier"


def test_unknown_number_and_malformed_bodies_are_rejected(seeded, sms_fixture):
    other = sms_fixture("inbound_sms").replace(b"To=%2B15550100150", b"To=%2B15550100999")
    assert _event(seeded, _receive("inbound", other)).state == "rejected"
    assert _event(seeded, _receive("inbound", b"Body=hello")).state == "rejected"
    assert _event(seeded, _receive("mystery", b"a=b")).state == "unhandled"


def test_channel_options_and_switch(seeded):
    conv = _maria_conv(seeded)
    options = {
        o.channel: o
        for o in sms.channel_options(
            session=seeded, account_id=conv.account_id, conversation_id=conv.id
        )
    }
    assert options["whatsapp"].available and options["whatsapp"].window == "open"
    assert options["sms"].available and options["sms"].max_chars == 1600
    assert "MMS" in options["sms"].attachments
    assert (
        sms.set_channel(
            session=seeded, account_id=conv.account_id, conversation_id=conv.id, channel="sms"
        )
        == "sms"
    )
    oliver = seeded.exec(select(Contact).where(Contact.name == "Oliver Hughes")).one()
    oconv = seeded.exec(select(Conversation).where(Conversation.contact_id == oliver.id)).one()
    opt = {
        o.channel: o
        for o in sms.channel_options(
            session=seeded, account_id=oconv.account_id, conversation_id=oconv.id
        )
    }["sms"]
    assert not opt.available and "landline" in opt.reason
    with pytest.raises(SendRefused) as info:
        sms.set_channel(
            session=seeded, account_id=oconv.account_id, conversation_id=oconv.id, channel="sms"
        )
    assert info.value.field == "channel"
