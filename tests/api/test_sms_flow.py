"""End to end over HTTP with both simulators: SMS and WhatsApp in one conversation, the shared
opt-out ledger, and "Resend as SMS" of a failed WhatsApp message."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Contact, Conversation, Message, User, WebhookEvent
from ctreflex.services import media, optouts, outbound, sms
from ctreflex.services.outbound import SendRefused
from ctreflex.sms import compute_signature
from tests.api.conftest import wait_for

MARIA = "+12125550142"  # seeded: US mobile, WhatsApp window open
LENA = "+4915112345678"  # seeded: German mobile (no MMS)
BUSINESS_SMS = "+15550100150"


def sms_control(live_api, method: str, path: str, **kwargs):
    return live_api.http.request(method, "/sms-simulator/control" + path, **kwargs)


def _ids(e164: str) -> tuple[int, int, int]:
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.e164 == e164)).one()
        conv = s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
        agent = s.exec(select(User).where(User.email == "agent@demo.test")).one()
        return conv.account_id, conv.id, agent.id


def _by_pid(pid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == pid)).first()


def _message(message_id: int) -> Message:
    with Session(db.get_engine()) as s:
        return s.get(Message, message_id)


def _contact(e164: str) -> Contact:
    with Session(db.get_engine()) as s:
        return s.exec(select(Contact).where(Contact.e164 == e164)).one()


def _outbox(live_api, to: str) -> list[dict]:
    return sms_control(live_api, "GET", "/outbox", params={"to": to}).json()["messages"]


def test_customer_texts_and_the_agent_answers_by_sms_in_the_same_conversation(live_api):
    account_id, conv_id, agent_id = _ids(MARIA)
    r = sms_control(
        live_api, "POST", f"/customers/{MARIA}/messages", json={"body": "Can I order by text? 😀"}
    )
    assert r.status_code == 200, r.text
    inbound = wait_for(lambda: _by_pid("sms:" + r.json()["sid"]), timeout=30)
    assert (inbound.conversation_id, inbound.channel, inbound.body) == (
        conv_id,
        "sms",
        "Can I order by text? 😀",
    )
    with Session(db.get_engine()) as s:
        channels = {
            m.channel
            for m in s.exec(select(Message).where(Message.conversation_id == conv_id)).all()
        }
    assert channels == {"whatsapp", "sms"}  # one thread across both channels

    message_id = live_api.run(
        sms.send_sms(
            account_id=account_id,
            user_id=agent_id,
            conversation_id=conv_id,
            body="Of course! €5 each.",
        )
    )
    sent = _outbox(live_api, MARIA)[-1]
    assert (sent["body"], sent["from"]) == ("Of course! €5 each.", BUSINESS_SMS)
    assert _message(message_id).provider_message_id == "sms:" + sent["sid"]
    wait_for(lambda: _message(message_id).status == "delivered", timeout=30)
    with Session(db.get_engine()) as s:
        assert s.get(Conversation, conv_id).channel == "sms"
        assert not s.exec(
            select(WebhookEvent).where(
                WebhookEvent.provider == "sms", WebhookEvent.state.not_in(["done"])
            )
        ).all()  # every receipt processed


def test_stop_by_sms_refuses_marketing_on_whatsapp_until_start(live_api):
    account_id, conv_id, agent_id = _ids(MARIA)
    contact_id = _contact(MARIA).id
    sms_control(live_api, "POST", f"/customers/{MARIA}/messages", json={"body": "STOP"})
    wait_for(lambda: _contact(MARIA).sms_opted_out, timeout=30)
    with Session(db.get_engine()) as s:
        ok, reason = optouts.can_send(
            session=s, contact_id=contact_id, channel="whatsapp", marketing=True
        )
        assert not ok and "STOP" in reason
        rows = optouts.ledger(session=s, contact_id=contact_id)
        assert (rows[0].channel, rows[0].action, rows[0].source) == (
            "sms",
            "out",
            'SMS keyword "STOP"',
        )
    before = len(_outbox(live_api, MARIA))
    with pytest.raises(SendRefused) as info:
        live_api.run(
            sms.send_sms(
                account_id=account_id,
                user_id=agent_id,
                conversation_id=conv_id,
                body="Weekend offer!",
            )
        )
    assert info.value.field == "optout"
    outbox = _outbox(live_api, MARIA)
    assert len(outbox) == before and outbox[-1]["direction"] == "outbound-reply"

    sms_control(live_api, "POST", f"/customers/{MARIA}/messages", json={"body": "start"})
    wait_for(lambda: not _contact(MARIA).sms_opted_out, timeout=30)
    with Session(db.get_engine()) as s:
        assert optouts.can_send(
            session=s, contact_id=contact_id, channel="whatsapp", marketing=True
        ) == (True, "")
    live_api.run(
        sms.send_sms(
            account_id=account_id, user_id=agent_id, conversation_id=conv_id, body="Welcome back!"
        )
    )
    assert _outbox(live_api, MARIA)[-1]["body"] == "Welcome back!"


def test_failed_whatsapp_text_is_resent_as_sms_and_linked(live_api):
    account_id, conv_id, agent_id = _ids(MARIA)
    r = live_api.control("PUT", "/faults", json={"force_error_code": 131026, "count": 1})
    assert r.status_code == 200, r.text
    wa_id = live_api.run(
        outbound.send_text(
            account_id=account_id,
            user_id=agent_id,
            conversation_id=conv_id,
            body="Your cake is ready",
        )
    )
    failed = wait_for(lambda: (m := _message(wa_id)).status == "failed" and m, timeout=15)
    assert failed.error_code == 131026
    with Session(db.get_engine()) as s:
        assert sms.resend_refusal(session=s, account_id=account_id, message_id=wa_id) is None
    new_id = live_api.run(
        sms.resend_as_sms(account_id=account_id, user_id=agent_id, message_id=wa_id)
    )
    new, old = _message(new_id), _message(wa_id)
    assert (new.channel, new.body, new.conversation_id) == ("sms", "Your cake is ready", conv_id)
    assert new.payload == {"resent_from": wa_id} and old.payload["resent_as"] == new_id
    assert _outbox(live_api, MARIA)[-1]["body"] == "Your cake is ready"
    with pytest.raises(SendRefused, match="already resent"):
        live_api.run(sms.resend_as_sms(account_id=account_id, user_id=agent_id, message_id=wa_id))


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"\x00\xff\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_photo_goes_as_mms_to_us_numbers_only(live_api):
    account_id, conv_id, agent_id = _ids(MARIA)
    with db.session_scope() as s:
        mf = media.store_upload(
            session=s,
            account_id=account_id,
            filename="cake.png",
            data=_png(),
            declared_mime="image/png",
        )
        media_id = mf.id
    message_id = live_api.run(
        sms.send_sms(
            account_id=account_id,
            user_id=agent_id,
            conversation_id=conv_id,
            body="This one?",
            media_file_id=media_id,
        )
    )
    sent = _outbox(live_api, MARIA)[-1]
    assert "/webhooks/sms/media/" in sent["media_urls"][0]
    wait_for(lambda: _message(message_id).status == "delivered", timeout=30)  # fetched by sim
    assert live_api.http.get(sent["media_urls"][0].split("?")[0]).status_code == 403

    lena_account, lena_conv, _ = _ids(LENA)
    with pytest.raises(SendRefused) as info:
        live_api.run(
            sms.send_sms(
                account_id=lena_account,
                user_id=agent_id,
                conversation_id=lena_conv,
                body="Photo",
                media_file_id=media_id,
            )
        )
    assert info.value.field == "attachment" and "US and Canadian" in info.value.message


def test_unsigned_or_forged_sms_webhooks_get_401_and_store_nothing(live_api):
    params = {
        "MessageSid": "SMforged",
        "AccountSid": "AC5e0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f",
        "From": MARIA,
        "To": BUSINESS_SMS,
        "Body": "hi",
        "NumMedia": "0",
    }
    url = live_api.url + "/webhooks/sms"
    with Session(db.get_engine()) as s:
        before = len(s.exec(select(WebhookEvent)).all())
    for sig in (None, "abc", compute_signature("wrong-token", url, params)):
        headers = {"X-Twilio-Signature": sig} if sig else {}
        r = live_api.http.post("/webhooks/sms", data=params, headers=headers)
        assert r.status_code == 401
    good = compute_signature("7c1f3e5a9b2d4f6e8a0c1b3d5f7e9a2c", url, params)
    r = live_api.http.post("/webhooks/sms", data=params, headers={"X-Twilio-Signature": good})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    with Session(db.get_engine()) as s:
        assert len(s.exec(select(WebhookEvent)).all()) == before + 1


def _channel(conv_id: int) -> str:
    with Session(db.get_engine()) as s:
        return s.get(Conversation, conv_id).channel


def test_a_send_still_on_its_way_keeps_the_channel_the_agent_picked_since(live_api):
    """The inbox queues a send and the agent may switch channel before it goes out (a photo
    sent on WhatsApp, then SMS picked for the next message): the send goes on the channel it
    was written for and the pick stays. A send through the API still moves the conversation."""
    from ctreflex.pages.inbox.composer import _deliver

    account_id, conv_id, agent_id = _ids(MARIA)
    with db.session_scope() as s:
        sms.set_channel(
            session=s, account_id=account_id, conversation_id=conv_id, channel="whatsapp"
        )
    job = {
        "account_id": account_id, "user_id": agent_id, "conversation_id": conv_id,
        "channel": "whatsapp", "body": "Here is the Sunday cake", "reply_to_id": None,
        "media_file_id": None,
    }  # pressed Send on WhatsApp ...
    with db.session_scope() as s:  # ... then picked SMS before the send went out
        sms.set_channel(session=s, account_id=account_id, conversation_id=conv_id, channel="sms")
    assert live_api.run(_deliver(job)) == ""
    with Session(db.get_engine()) as s:
        last = s.exec(
            select(Message).where(Message.conversation_id == conv_id).order_by(Message.id.desc())
        ).first()
    assert (last.channel, last.body) == ("whatsapp", "Here is the Sunday cake")
    assert _channel(conv_id) == "sms"  # the next send goes by SMS, as the agent picked

    with db.session_scope() as s:  # pressed Send on SMS, then picked WhatsApp
        sms.set_channel(
            session=s, account_id=account_id, conversation_id=conv_id, channel="whatsapp"
        )
    assert live_api.run(_deliver({**job, "channel": "sms", "body": "Reply here any time."})) == ""
    assert _outbox(live_api, MARIA)[-1]["body"] == "Reply here any time."
    assert _channel(conv_id) == "whatsapp"

    live_api.run(  # the API (no channel pick of its own) moves the conversation to its send
        sms.send_sms(account_id=account_id, user_id=agent_id, conversation_id=conv_id, body="API")
    )
    assert _channel(conv_id) == "sms"
