"""Replaying Meta's webhook fixtures gives the right rows, once, whatever the order."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlmodel import func, select

from ctreflex.inbound import dispatch, fastpath, journal, rows
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    OptOutEvent,
    UsageRecord,
    WebhookEvent,
)
from tests.fixtures import fixture_dir

FIXTURES = fixture_dir("whatsapp")
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
        event = journal.journal(session=session, provider="whatsapp", body=path.read_bytes())
        dispatch.process_event(session=session, event_id=event.id)


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
    assert conv.window_expires_at == conv.last_inbound_at + rows.WINDOW
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
    event = journal.journal(session=s, provider="whatsapp", body=status.read_bytes())
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "retry" and "not stored yet" in event.error
    _outbound(s, [(OUT_TEXT, "15550100142")])
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "done"
    assert _message(s, OUT_TEXT).status == "read"


def test_malformed_and_unknown_bodies_are_kept_not_dropped(seeded):
    s = seeded
    bad = journal.journal(session=s, provider="whatsapp", body=b'{"object": "whatsapp_bus')
    dispatch.process_event(session=s, event_id=bad.id)
    s.refresh(bad)
    assert bad.state == "rejected" and "not valid JSON" in bad.error
    assert bad.body == '{"object": "whatsapp_bus'

    other = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}}]}]}
    event = journal.journal(session=s, provider="whatsapp", body=json.dumps(other).encode())
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert (event.state, event.kind) == ("unhandled", "phone_number_quality_update")


def test_unknown_number_and_plan_without_whatsapp_are_refused(seeded):
    s = seeded
    body = (FIXTURES / "01_inbound_text.json").read_text().replace("200000000000001", "999")
    event = journal.journal(session=s, provider="whatsapp", body=body.encode())
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "rejected" and "999" in event.error
    assert s.exec(select(func.count()).select_from(Message).where(
        Message.provider_message_id == _wamid(FIXTURES / "01_inbound_text.json"))).one() == 0


def test_stop_promotions_quick_reply_lands_in_the_opt_out_ledger(seeded):
    s = seeded
    raw = json.loads((FIXTURES / "07_inbound_template_quick_reply.json").read_text())
    msg = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    msg["id"] = "wamid.STOPPROMOS0001"
    msg["button"] = {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}
    event = journal.journal(session=s, provider="whatsapp", body=json.dumps(raw).encode())
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "done", event.error
    tap = _message(s, "wamid.STOPPROMOS0001")
    contact = s.get(Contact, s.get(Conversation, tap.conversation_id).contact_id)
    s.refresh(contact)
    assert contact.marketing_opted_out and not contact.sms_opted_out
    ledger = s.exec(select(OptOutEvent).where(OptOutEvent.contact_id == contact.id)).all()
    assert [(e.channel, e.scope, e.action) for e in ledger] == [("whatsapp", "marketing", "out")]
    assert "Stop promotions" in ledger[0].source

    # A quick reply that is not about promotions leaves the ledger alone.
    before = len(s.exec(select(OptOutEvent)).all())
    _replay(s, [FIXTURES / "07_inbound_template_quick_reply.json"])
    assert len(s.exec(select(OptOutEvent)).all()) == before


def test_due_events_are_every_providers_in_journal_order(seeded):
    """One journal, one processor: WhatsApp and SMS events are taken together, in id order
    (before issue 12 the WhatsApp processor skipped SMS events, which had their own states)."""
    s = seeded
    wa = journal.journal(session=s, provider="whatsapp", body=b"{}")
    sms = journal.journal(session=s, provider="sms", body=b"a=b", kind="status")
    due = journal.due_event_ids(session=s)
    assert due.index(wa.id) < due.index(sms.id)


def _scenario_bodies(tag: str, customers: list[str], outbound_wamid: str) -> list[bytes]:
    """A burst as the fast path sees it: plain texts mixed with duplicates, a new customer,
    replies, a reaction, statuses (one regressing), out-of-order times, two messages in one
    body, and a reply to an unknown message."""
    def value(messages=(), statuses=(), names=None):
        return {"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
                                                                   "changes": [{
            "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100100",
                             "phone_number_id": "200000000000001"},
                "contacts": [
                    {"profile": {"name": (names or {}).get(w, f"Cust {customers.index(w)}")},
                     "wa_id": w}
                    for w in customers
                ],
                "messages": list(messages), "statuses": list(statuses)}}]}]}

    def text(n, who, ts, reply=None):
        m = {"from": customers[who], "id": f"wamid.{tag}.{n}", "timestamp": str(ts),
             "type": "text", "text": {"body": f"hello {n}"}}
        if reply:
            m["context"] = {"from": "15550100100", "id": reply}
        return m

    def status(st, ts):
        return {"id": outbound_wamid, "status": st, "timestamp": str(ts),
                "recipient_id": customers[0]}

    t = 1767261600
    bodies = [
        value([text(1, 0, t)]),
        value([text(2, 1, t + 1)]),
        value([text(1, 0, t)]),  # duplicate delivery
        value([text(3, 2, t + 2)]),  # a new customer
        value([text(4, 2, t + 3)], names={customers[2]: "New Name"}),
        value([{"from": customers[0], "id": f"wamid.{tag}.r", "timestamp": str(t + 4),
                "type": "reaction",
                "reaction": {"message_id": f"wamid.{tag}.2", "emoji": "👍"}}]),
        value([text(5, 1, t + 5, reply=f"wamid.{tag}.1")]),
        value(statuses=[status("delivered", t + 6)]),
        value(statuses=[status("sent", t + 5)]),  # late: must not regress
        value([text(6, 0, t + 7), text(7, 1, t + 8)]),
        value([text(8, 0, t + 9, reply="wamid.UNKNOWN")]),
        value([text(9, 1, t - 100)]),  # older than the rest: no preview change
        value([text(10, 0, t + 10)]),
    ]
    return [json.dumps(b).encode() for b in bodies]


def _scenario(s, tag: str, customers: list[str]) -> dict:
    account, number = _bakery(s)
    convs = {}
    for wa_id in customers[:2]:
        contact = Contact(account_id=account.id, e164="+" + wa_id, wa_id=wa_id,
                          profile_name=f"Cust {customers.index(wa_id)}",
                          name=f"Cust {customers.index(wa_id)}")
        s.add(contact)
        s.flush()
        conv = Conversation(account_id=account.id, contact_id=contact.id,
                            business_number_id=number.id)
        s.add(conv)
        s.flush()
        convs[wa_id] = conv.id
    out = f"wamid.{tag}.out"
    s.add(Message(account_id=account.id, conversation_id=convs[customers[0]],
                  business_number_id=number.id, direction="outbound", channel="whatsapp",
                  kind="text", body="hi", provider_message_id=out, status="accepted"))
    s.commit()
    ids = [journal.journal(session=s, provider="whatsapp", body=b).id
           for b in _scenario_bodies(tag, customers, out)]
    outcome = dispatch.process_events(session=s, event_ids=ids)
    s.expire_all()

    def name(wamid):
        return wamid.replace(tag, "T") if wamid else wamid

    msgs = s.exec(select(Message).where(Message.provider_message_id.like(f"wamid.{tag}.%"))
                  .order_by(Message.provider_message_id)).all()
    by_id = {m.id: m.provider_message_id for m in msgs}
    conv_of = {}
    for c in s.exec(select(Conversation)).all():
        wa = s.get(Contact, c.contact_id).wa_id
        if wa in customers:
            conv_of[c.id] = customers.index(wa)
    return {
        "messages": [(name(m.provider_message_id), m.kind, m.body, m.direction, m.status,
                      name(by_id.get(m.reply_to_id)), name(m.reply_to_provider_id), m.reaction,
                      conv_of[m.conversation_id],
                      m.created_at if m.direction == "inbound" else None, m.payload, m.sent_at,
                      m.delivered_at) for m in msgs],
        "conversations": sorted(
            (conv_of[c.id], c.unread_count, c.last_message_at, c.last_inbound_at,
             c.window_expires_at, c.last_preview, c.channel)
            for c in s.exec(select(Conversation)).all() if c.id in conv_of),
        "contacts": sorted((customers.index(c.wa_id), c.profile_name, c.name)
                           for c in s.exec(select(Contact)).all() if c.wa_id in customers),
        "usage": sorted(name(by_id[u.message_id]) for u in s.exec(select(UsageRecord)).all()
                        if u.message_id in by_id),
        "events": [(e.state, e.attempts, e.kind, e.error, e.account_id is not None)
                   for e in (s.get(WebhookEvent, i) for i in ids)],
        "live": sorted((ev["type"], name(by_id.get(ev["message_id"])))
                       for _, ev in outcome.live),
    }


def test_fast_path_gives_the_same_rows_as_the_per_event_path(seeded, monkeypatch):
    monkeypatch.setattr(fastpath, "enabled", False)
    slow = _scenario(seeded, "SLOW", ["15550109901", "15550109902", "15550109903"])
    monkeypatch.setattr(fastpath, "enabled", True)
    fast_runs: list[int] = []
    write = fastpath._write_run

    def counting(session, run, *args):
        fast_runs.append(len(run))
        return write(session, run, *args)

    monkeypatch.setattr(fastpath, "_write_run", counting)
    fast = _scenario(seeded, "FAST", ["15550109911", "15550109912", "15550109913"])
    for key in slow:
        assert fast[key] == slow[key], key
    assert {e[0] for e in fast["events"]} == {"done"}
    assert len(fast["messages"]) == 12  # 10 texts + the reaction + the outbound, no duplicate
    assert sum(fast_runs) >= 7  # most of the burst went the set-based way


def test_whatsapp_stop_text_lands_in_the_opt_out_ledger(seeded):
    s = seeded
    raw = json.loads((FIXTURES / "01_inbound_text.json").read_text())
    msg = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    msg["id"] = "wamid.STOPTEXT0001"
    msg["text"] = {"body": "Arrêt"}
    event = journal.journal(session=s, provider="whatsapp", body=json.dumps(raw).encode())
    dispatch.process_event(session=s, event_id=event.id)
    s.refresh(event)
    assert event.state == "done", event.error
    stop = _message(s, "wamid.STOPTEXT0001")
    contact = s.get(Contact, s.get(Conversation, stop.conversation_id).contact_id)
    s.refresh(contact)
    assert contact.marketing_opted_out and not contact.sms_opted_out
    ledger = s.exec(select(OptOutEvent).where(OptOutEvent.contact_id == contact.id)).all()
    assert [(e.channel, e.scope, e.action, e.source) for e in ledger] == [
        ("whatsapp", "marketing", "out", 'WhatsApp keyword "Arrêt"')
    ]


def test_stop_from_a_known_customer_is_not_taken_by_the_fast_path(seeded):
    """The fast path stores plain texts in bulk; a STOP must reach the opt-out ledger."""
    s = seeded
    _replay(s, [FIXTURES / "01_inbound_text.json"])  # the customer is known now
    raw = json.loads((FIXTURES / "01_inbound_text.json").read_text())
    msg = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    msg["id"] = "wamid.STOPFAST0001"
    msg["text"] = {"body": "stop"}
    event = journal.journal(session=s, provider="whatsapp", body=json.dumps(raw).encode())
    dispatch.process_events(session=s, event_ids=[event.id])  # the batch (fast path) entry
    stop = _message(s, "wamid.STOPFAST0001")
    contact = s.get(Contact, s.get(Conversation, stop.conversation_id).contact_id)
    s.refresh(contact)
    assert contact.marketing_opted_out
