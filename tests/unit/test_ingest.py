"""Replaying Meta's webhook fixtures gives the right rows, once, whatever the order."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlmodel import func, select

from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    UsageRecord,
    WebhookEvent,
)
from ctreflex.services import ingest

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "whatsapp-fixtures"
if not FIXTURES.is_dir():  # CI lays shared/ beside the clone
    FIXTURES = Path(__file__).resolve().parents[2].parent / "shared/reference/whatsapp-fixtures"
WEBHOOKS = sorted(p for p in FIXTURES.glob("*.json") if int(p.name[:2]) <= 15)

OUT_TEMPLATE = "wamid.GAsxNTU1MDEwMDE0MhUCABIYFEZBS0VPVVRUUEwwMDAxMDAwMDAwAA=="
OUT_TEXT = "wamid.GAsxNTU1MDEwMDE0MhUCABIYFEZBS0VPVVRUWFQwMDAyMDAwMDAwAA=="
OUT_FAILED = "wamid.GAw0NDc3MDA5MDAxMjMVAgASGBRGQUtFT1VUVFhUMDAwMzAwMDAwMAA="


def _bakery(session) -> tuple[Account, BusinessNumber]:
    account = session.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    number = session.exec(
        select(BusinessNumber).where(BusinessNumber.phone_number_id == "200000000000001")
    ).one()
    return account, number


def _outbound(session, wamids_to: list[tuple[str, str]]) -> None:
    """The business's own messages the status fixtures refer to."""
    account, number = _bakery(session)
    for wamid, wa_id in wamids_to:
        contact = Contact(account_id=account.id, e164="+" + wa_id, wa_id=wa_id)
        existing = session.exec(
            select(Contact).where(Contact.account_id == account.id, Contact.e164 == "+" + wa_id)
        ).first()
        contact = existing or contact
        session.add(contact)
        session.flush()
        conv = session.exec(
            select(Conversation).where(Conversation.contact_id == contact.id)
        ).first() or Conversation(account_id=account.id, contact_id=contact.id,
                                  business_number_id=number.id)
        session.add(conv)
        session.flush()
        session.add(Message(account_id=account.id, conversation_id=conv.id,
                            business_number_id=number.id, direction="outbound",
                            channel="whatsapp", kind="text", body="from the business",
                            provider_message_id=wamid, status="accepted"))
    session.commit()


def _replay(session, paths: list[Path]) -> None:
    for path in paths:
        event = ingest.journal(session=session, provider="whatsapp", body=path.read_bytes())
        ingest.process_event(session=session, event_id=event.id)


def _message(session, wamid: str) -> Message:
    return session.exec(select(Message).where(Message.provider_message_id == wamid)).one()


def _wamid(path: Path) -> str:
    value = json.loads(path.read_text())["entry"][0]["changes"][0]["value"]
    return (value.get("messages") or value.get("statuses"))[0]["id"]


@pytest.fixture
def with_outbound(seeded):
    _outbound(seeded, [(OUT_TEMPLATE, "15550100142"), (OUT_TEXT, "15550100142"),
                       (OUT_FAILED, "447700900123")])
    return seeded


def test_every_fixture_gives_the_right_rows(with_outbound):
    s = with_outbound
    _replay(s, WEBHOOKS)
    events = s.exec(select(WebhookEvent)).all()
    assert {e.state for e in events} == {"done"}, [(e.kind, e.error) for e in events]

    text = _message(s, _wamid(FIXTURES / "01_inbound_text.json"))
    assert (text.kind, text.direction, text.status) == ("text", "inbound", "received")
    assert text.body == "Hi! Can I move my cleaning appointment to Friday?"
    maria = s.get(Contact, s.get(Conversation, text.conversation_id).contact_id)
    assert (maria.e164, maria.profile_name) == ("+15550100142", "Maria Lopez")

    reply = _message(s, _wamid(FIXTURES / "02_inbound_text_reply_context.json"))
    assert reply.reply_to_id == _message(s, OUT_TEXT).id

    image = _message(s, _wamid(FIXTURES / "03_inbound_image_caption.json"))
    media = s.get(MediaFile, image.media_id)
    assert (image.kind, image.body, media.provider_media_id, media.state) == (
        "image", "This is the crack in the crown", "900000000000301", "pending")

    pdf = _message(s, _wamid(FIXTURES / "04_inbound_document_pdf.json"))
    assert s.get(MediaFile, pdf.media_id).filename == "claim-form-2026.pdf"

    voice = _message(s, _wamid(FIXTURES / "06_inbound_audio_voice.json"))
    assert voice.kind == "audio" and voice.media_id is None
    assert "voice message, which this channel does not support" in voice.body

    tap = _message(s, _wamid(FIXTURES / "07_inbound_template_quick_reply.json"))
    assert (tap.kind, tap.body, tap.reply_to_id) == ("button", "Confirm",
                                                     _message(s, OUT_TEMPLATE).id)
    assert tap.payload == {"payload": "CONFIRM_APPT_4411"}

    button = _message(s, _wamid(FIXTURES / "08_inbound_interactive_button_reply.json"))
    assert button.body == "Fri 3:00 pm" and button.reply_to_id is None
    assert button.reply_to_provider_id  # quoted message unknown here: a placeholder link

    assert _message(s, OUT_TEXT).reaction == "👍"

    poll = _message(s, _wamid(FIXTURES / "10_inbound_unsupported.json"))
    assert poll.kind == "unsupported" and "poll" in poll.body

    location = _message(s, "wamid.GAw0NDc3MDA5MDAxMjMVAgASGBRGQUtFSU4wMDE2MDAwMDAwMDAwMAA=")
    assert location.kind == "location" and "Parking entrance" in location.body

    assert _message(s, OUT_TEMPLATE).status == "delivered"
    assert _message(s, OUT_TEMPLATE).pricing_category == "utility"
    assert _message(s, OUT_TEXT).status == "read"
    failed = _message(s, OUT_FAILED)
    assert (failed.status, failed.error_code, failed.error_title) == (
        "failed", 131047, "Re-engagement message")
    assert "last 24 hours" in failed.error_detail

    # Every inbound message opened or refreshed the window: its time + 24 h.
    conv = s.get(Conversation, text.conversation_id)
    assert conv.window_expires_at == conv.last_inbound_at + ingest.WINDOW
    inbound = s.exec(select(func.count()).select_from(Message)
                     .where(Message.direction == "inbound", Message.kind != "text",
                            Message.provider_message_id.like("wamid.G%"))).one()
    assert inbound > 0
    usage = s.exec(select(func.count()).select_from(UsageRecord)).one()
    assert usage == s.exec(select(func.count()).select_from(Message)
                           .where(Message.direction == "inbound",
                                  Message.provider_message_id.like("wamid.G%"))).one()


def test_three_shuffled_replays_duplicate_nothing_and_never_regress(with_outbound):
    s = with_outbound
    paths = WEBHOOKS * 3
    random.Random(7).shuffle(paths)
    _replay(s, paths)
    # Statuses that arrived before nothing else: all events end done.
    assert {e.state for e in s.exec(select(WebhookEvent)).all()} == {"done"}
    wamids = s.exec(select(Message.provider_message_id)).all()
    assert len(wamids) == len(set(wamids))
    assert _message(s, OUT_TEXT).status == "read"
    assert _message(s, OUT_TEMPLATE).status == "delivered"
    assert _message(s, OUT_FAILED).status == "failed"
    inbound = s.exec(select(func.count()).select_from(Message).where(
        Message.direction == "inbound", Message.provider_message_id.like("wamid.G%"))).one()
    assert inbound == 12  # fixtures 01-10 hold one message each, 15 holds two
    assert _message(s, OUT_TEXT).reaction == "👍"


def test_status_before_its_message_waits_then_applies(seeded):
    s = seeded
    status = FIXTURES / "13_status_read.json"
    event = ingest.journal(session=s, provider="whatsapp", body=status.read_bytes())
    ingest.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "retry" and "not stored yet" in event.error
    _outbound(s, [(OUT_TEXT, "15550100142")])
    ingest.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "done"
    assert _message(s, OUT_TEXT).status == "read"


def test_malformed_and_unknown_bodies_are_kept_not_dropped(seeded):
    s = seeded
    bad = ingest.journal(session=s, provider="whatsapp", body=b'{"object": "whatsapp_bus')
    ingest.process_event(session=s, event_id=bad.id)
    s.refresh(bad)
    assert bad.state == "rejected" and "not valid JSON" in bad.error
    assert bad.body == '{"object": "whatsapp_bus'

    other = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}}]}]}
    event = ingest.journal(session=s, provider="whatsapp", body=json.dumps(other).encode())
    ingest.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert (event.state, event.kind) == ("unhandled", "phone_number_quality_update")


def test_unknown_number_and_plan_without_whatsapp_are_refused(seeded):
    s = seeded
    body = (FIXTURES / "01_inbound_text.json").read_text().replace("200000000000001", "999")
    event = ingest.journal(session=s, provider="whatsapp", body=body.encode())
    ingest.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "rejected" and "999" in event.error
    assert s.exec(select(func.count()).select_from(Message).where(
        Message.provider_message_id == _wamid(FIXTURES / "01_inbound_text.json"))).one() == 0
