"""End to end over HTTP: the simulator's signed webhooks reach the app; the app's sends reach
the simulator; statuses come back and only move forward."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Contact, Conversation, MediaFile, Message, WebhookEvent
from ctreflex.services import outbound
from ctreflex.whatsapp import sign
from tests.api.conftest import wait_for

MARIA = "12125550142"  # a seeded demo customer with an open window


def _message(wamid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == wamid)).first()


def _user_and_conversation(wa_id: str) -> tuple[int, int, int]:
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.wa_id == wa_id)).one()
        conv = s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
        return conv.account_id, conv.id, 1


def test_customer_message_arrives_and_reply_ticks_advance(live_api):
    r = live_api.control("POST", f"/customers/{MARIA}/messages",
                         json={"type": "text", "text": "Is the bakery open at 7?"})
    assert r.status_code == 200, r.text
    wamid = r.json()["wamid"]
    inbound = wait_for(lambda: _message(wamid))
    assert inbound.body == "Is the bakery open at 7?" and inbound.direction == "inbound"

    account_id, conv_id, user_id = _user_and_conversation(MARIA)
    message_id = live_api.run(outbound.send_text(
        account_id=account_id, user_id=user_id, conversation_id=conv_id,
        body="Yes, from 7 to 19!", reply_to_id=inbound.id))
    outbox = live_api.control("GET", "/outbox", params={"to": MARIA}).json()
    sent = [o for o in outbox["messages"] if o["request"].get("type") == "text"][-1]
    assert sent["request"]["text"]["body"] == "Yes, from 7 to 19!"
    assert sent["request"]["context"]["message_id"] == wamid

    def status():
        with Session(db.get_engine()) as s:
            return s.get(Message, message_id).status

    wait_for(lambda: status() == "delivered", timeout=15)
    live_api.control("POST", f"/customers/{MARIA}/read", json={})
    wait_for(lambda: status() == "read", timeout=15)


def test_closed_window_is_refused_before_any_call(live_api):
    with Session(db.get_engine()) as s:
        conv = s.exec(select(Conversation).where(Conversation.window_expires_at.is_not(None))
                      .order_by(Conversation.window_expires_at)).first()
        account_id, conv_id = conv.account_id, conv.id
    before = len(live_api.control("GET", "/outbox").json()["messages"])
    try:
        live_api.run(outbound.send_text(account_id=account_id, user_id=1,
                                         conversation_id=conv_id, body="hello?"))
    except outbound.SendRefused as exc:
        assert exc.field == "window" and "24-hour window is closed" in exc.message
    else:
        raise AssertionError("a send outside the window was not refused")
    assert len(live_api.control("GET", "/outbox").json()["messages"]) == before


def test_inbound_image_is_fetched_into_the_media_store(live_api):
    r = live_api.control("POST", f"/customers/{MARIA}/messages",
                         json={"type": "image", "caption": "our cake"})
    wamid = r.json()["wamid"]
    message = wait_for(lambda: _message(wamid))

    def ready():
        with Session(db.get_engine()) as s:
            mf = s.get(MediaFile, message.media_id)
            return mf if mf.state == "ready" else None

    mf = wait_for(ready, timeout=15)
    assert mf.size > 0 and mf.mime_type == "image/jpeg"


def test_bad_signature_gets_401_and_stores_nothing(live_api):
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    with Session(db.get_engine()) as s:
        before = len(s.exec(select(WebhookEvent)).all())
    for headers in ({}, {"X-Hub-Signature-256": "sha256=abc"},
                    {"X-Hub-Signature-256": sign("another-secret", body)}):
        r = live_api.http.post("/webhooks/whatsapp", content=body, headers=headers)
        assert r.status_code == 401
    with Session(db.get_engine()) as s:
        assert len(s.exec(select(WebhookEvent)).all()) == before


def test_malformed_json_with_a_good_signature_is_journaled_and_answered_200(live_api):
    body = b'{"object": "whatsapp_business_account", "entry": [ {'
    r = live_api.http.post("/webhooks/whatsapp", content=body,
                           headers={"X-Hub-Signature-256": sign("sim-app-secret", body)})
    assert r.status_code == 200
    event_id = r.json()["event_id"]

    def state():
        with Session(db.get_engine()) as s:
            return s.get(WebhookEvent, event_id).state

    assert wait_for(lambda: state() == "rejected")


def test_handshake_echoes_the_challenge_only_for_the_right_token(live_api):
    ok = live_api.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "sim-verify-token", "hub.challenge": "42x"})
    assert (ok.status_code, ok.text) == (200, "42x")
    bad = live_api.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42x"})
    assert bad.status_code == 403 and "42x" not in bad.text
