"""Contract 1: every webhook the simulator emits is signed correctly and parses with the
client's models (``parse_webhook``) without ``payload_errors``, into the right typed payloads.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from ctreflex.simulator import samples
from ctreflex.whatsapp import (
    MediaError,
    RecipientError,
    WindowClosedError,
    from_error_payload,
    parse_webhook,
    verify_signature,
)
from ctreflex.whatsapp.templates import build_components_or_raise
from ctreflex.whatsapp.webhooks import (
    AudioPayload,
    ButtonPayload,
    ContactCard,
    DocumentPayload,
    ImagePayload,
    InteractivePayload,
    LocationPayload,
    OrderPayload,
    ReactionPayload,
    Status,
    StickerPayload,
    SystemPayload,
    TemplateStatusUpdate,
    TextPayload,
    UnsupportedPayload,
    VideoPayload,
)

from .conftest import (
    APP_SECRET,
    DEMO_WABA,
    DEV,
    EMMA,
    LIAM,
    MARIA,
    PNID,
    customer_says,
    wait_for,
)

pytestmark = pytest.mark.anyio

PAYLOAD_TYPES: dict[str, type] = {
    "text": TextPayload,
    "image": ImagePayload,
    "video": VideoPayload,
    "document": DocumentPayload,
    "audio": AudioPayload,
    "sticker": StickerPayload,
    "location": LocationPayload,
    "interactive": InteractivePayload,
    "button": ButtonPayload,
    "reaction": ReactionPayload,
    "order": OrderPayload,
    "system": SystemPayload,
    "unsupported": UnsupportedPayload,
}

#: customer-side kinds driven through the control API (wire type in the webhook)
CUSTOMER_KINDS: list[tuple[str, dict[str, Any], str]] = [
    ("text", {"text": "Do you have gluten-free bread? ¿Y pan sin gluten? 🍞"}, "text"),
    ("image", {"caption": "this one"}, "image"),
    ("video", {"caption": "the cake I mean"}, "video"),
    ("document", {"filename": "order.pdf", "caption": "my order"}, "document"),
    ("audio", {}, "audio"),
    ("voice", {}, "audio"),
    ("sticker", {}, "sticker"),
    (
        "location",
        {"latitude": 40.7128, "longitude": -74.006, "name": "Home", "address": "1 Main St"},
        "location",
    ),
    ("contacts", {"contact_name": "Sam Baker", "contact_phone": "+15550100188"}, "contacts"),
    ("interactive", {"button_text": "Yes please"}, "interactive"),
    ("interactive", {"button_text": "Rye loaf", "list_reply": True}, "interactive"),
    ("unsupported", {}, "unsupported"),
    ("order", {}, "order"),
    ("system", {"new_wa_id": "15550100999"}, "system"),
]


async def test_every_emitted_webhook_is_signed_and_parses(sim, wa, ctl, receiver) -> None:
    expected_in: dict[str, str] = {}  # inbound wamid -> wire type

    # ---- customers write: every kind ------------------------------------------------------
    for kind, extra, wire in CUSTOMER_KINDS:
        out = await customer_says(ctl, MARIA, type=kind, **extra)
        expected_in[out["wamid"]] = wire

    # ---- business replies inside the window; customer replies to it and reacts ------------
    text_res = await wa.send_text(PNID, MARIA, "Yes, baked this morning.")
    reply = await customer_says(ctl, MARIA, type="text", text="Great", reply_to=text_res.wamid)
    expected_in[reply["wamid"]] = "text"
    react = await customer_says(ctl, MARIA, type="reaction", emoji="❤️", reaction_to=text_res.wamid)
    expected_in[react["wamid"]] = "reaction"

    # ---- a marketing template to Canada (delivered), then a quick-reply tap ----------------
    [offer] = await wa.list_templates(DEMO_WABA, name="weekend_treats_offer", language="en_US")
    image_id = await wa.upload_media(PNID, samples.jpeg(), "image/jpeg", "rolls.jpg")
    comps = build_components_or_raise(
        offer,
        {
            "header.media": image_id,
            "body.1": "Liam",
            "body.2": "cinnamon rolls",
            "body.3": "15%",
            "button.0.url_suffix": "WEEKEND15",
            "button.2.payload": "STOP_PROMOS",
        },
    )
    tpl_res = await wa.send_template(
        PNID, LIAM, name="weekend_treats_offer", language="en_US", components=comps
    )
    # wait until delivered so the customer can read it
    await wait_for(lambda: _status_names(receiver, tpl_res.wamid) >= {"sent", "delivered"})
    tap = await customer_says(ctl, LIAM, type="button", button_text="Stop promotions")
    expected_in[tap["wamid"]] = "button"
    await wait_for(lambda: _status_names(receiver, text_res.wamid) >= {"sent", "delivered"})
    await ctl.post(f"/control/customers/{LIAM}/read", json={})
    await ctl.post(f"/control/customers/{MARIA}/read", json={})

    # ---- failures: window closed, US marketing, media type, forced async code -------------
    closed = await wa.send_text(PNID, DEV, "Following up on your order")
    us_mkt = await wa.send_template(
        PNID, EMMA, name="weekend_treats_offer", language="en_US", components=comps
    )
    audio_id = await wa.upload_media(PNID, samples.ogg_opus(), "audio/ogg", "note.ogg")
    bad_media = await wa.send_media(PNID, MARIA, "document", media_id=audio_id, filename="note.ogg")
    r = await ctl.put(
        "/control/faults", json={"force_error_code": 131026, "count": 1, "force_error_async": True}
    )
    assert r.status_code == 200, r.text
    forced = await wa.send_text(PNID, MARIA, "Anything else?")

    # ---- template status updates ------------------------------------------------------------
    for status, reason in (
        ("PAUSED", "LOW_QUALITY"),
        ("REJECTED", "PROMOTIONAL"),
        ("APPROVED", None),
    ):
        r = await ctl.post(
            "/control/templates/300000000000101/status", json={"status": status, "reason": reason}
        )
        assert r.status_code == 200, r.text

    failed_expect = {
        closed.wamid: 131047,
        us_mkt.wamid: 131049,
        bad_media.wamid: 131053,
        forced.wamid: 131026,
    }

    def complete() -> bool:
        got_in = {m["id"] for m in receiver.messages()}
        if not set(expected_in) <= got_in:
            return False
        if not {"sent", "delivered", "read"} <= _status_names(receiver, tpl_res.wamid):
            return False
        if not {"sent", "delivered", "read"} <= _status_names(receiver, text_res.wamid):
            return False
        if any("failed" not in _status_names(receiver, w) for w in failed_expect):
            return False
        return len(receiver.changes("message_template_status_update")) >= 3

    await wait_for(complete, timeout=10)

    # ---- now check every delivery with the client's code only ------------------------------
    messages = {}
    contacts = {}
    statuses: dict[str, list[Status]] = {}
    updates: list[TemplateStatusUpdate] = []
    for req in receiver.requests:
        body, headers = req["body"], req["headers"]
        assert verify_signature(APP_SECRET, body, headers["x-hub-signature-256"]), headers
        assert not verify_signature("wrong-secret", body, headers["x-hub-signature-256"])
        payload = parse_webhook(body)
        assert payload.object == "whatsapp_business_account"
        for entry in payload.entry:
            assert entry.id == DEMO_WABA
            for change in entry.changes:
                assert change.field in ("messages", "message_template_status_update")
                if change.field == "messages":
                    value = change.messages_value
                    assert value is not None, change
                    assert value.metadata.phone_number_id == PNID
                    assert value.metadata.display_phone_number == "15550100100"
                    assert value.errors == []
                else:
                    assert isinstance(change.value, TemplateStatusUpdate), change.value
        for _value, contact, msg in payload.iter_messages():
            messages[msg.id] = msg
            contacts[msg.id] = contact
        for _, st in payload.iter_statuses():
            statuses.setdefault(st.id, []).append(st)
        updates.extend(payload.template_updates())

    # inbound messages: typed payloads, no payload_errors, contacts matched
    assert set(expected_in) <= set(messages)
    for wamid, wire in expected_in.items():
        msg = messages[wamid]
        assert msg.payload_errors == {}, (wire, msg.payload_errors, msg.raw)
        assert msg.type == wire and msg.is_known_type
        assert msg.timestamp_utc is not None
        contact = contacts[wamid]
        assert contact is not None and contact.name, msg.raw
        if wire == "contacts":
            assert msg.contacts and all(isinstance(c, ContactCard) for c in msg.contacts)
            assert msg.contacts[0].name.formatted_name == "Sam Baker"
            assert msg.contacts[0].phones[0].wa_id == "15550100188"
        else:
            assert isinstance(msg.payload, PAYLOAD_TYPES[wire]), (wire, msg.raw)
        # nothing of the payload was dropped by the model
        assert set(msg.raw) <= set(type(msg).model_fields) | {"from"} | set(msg.model_extra)

    by_kind = {
        (m.type, m.raw.get(m.type, {}).get("type") if m.type == "interactive" else None): m
        for w, m in messages.items()
        if w in expected_in
    }
    assert by_kind[("text", None)].reply_to_id in (None, text_res.wamid)
    assert messages[reply["wamid"]].reply_to_id == text_res.wamid
    assert messages[react["wamid"]].reaction.message_id == text_res.wamid
    assert messages[react["wamid"]].reaction.emoji == "❤️"
    assert not messages[react["wamid"]].reaction.removed
    btn = messages[tap["wamid"]]
    assert btn.button.text == "Stop promotions" and btn.button.payload == "STOP_PROMOS"
    assert btn.reply_to_id == tpl_res.wamid
    assert btn.from_ == LIAM
    inter = by_kind[("interactive", "button_reply")].interactive
    assert inter.reply_title == "Yes please" and inter.reply_id
    lst = by_kind[("interactive", "list_reply")].interactive
    assert lst.reply_title == "Rye loaf" and lst.list_reply is not None
    loc = by_kind[("location", None)].location
    assert (loc.latitude, loc.longitude, loc.name) == (40.7128, -74.006, "Home")
    unsupported = by_kind[("unsupported", None)]
    assert unsupported.errors and unsupported.errors[0].code == 131051
    assert unsupported.errors[0].details
    order = by_kind[("order", None)].order
    assert order.product_items and order.product_items[0].quantity == 6
    assert by_kind[("system", None)].system.type == "user_changed_number"
    audios = [m for w, m in messages.items() if w in expected_in and m.type == "audio"]
    assert sorted(a.audio.voice for a in audios) == [False, True]

    # inbound media: the webhook's base64 sha256 matches the bytes the client downloads, and
    # GET /{media-id} reports the same file as hex sha256
    media_msgs = [m for w, m in messages.items() if w in expected_in and m.media is not None]
    assert {m.type for m in media_msgs} == {"image", "video", "document", "audio", "sticker"}
    for m in media_msgs:
        info = await wa.get_media(m.media.id)
        data = await wa.download_media(info.url)
        assert info.mime_type == m.media.mime_type
        assert info.file_size == len(data)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert m.media.sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert by_kind[("document", None)].document.filename == "order.pdf"
    assert by_kind[("image", None)].image.caption == "this one"

    # statuses: typed, ordered, priced; failed ones carry typed errors
    for wamid in (tpl_res.wamid, text_res.wamid):
        seq = statuses[wamid]
        assert [s.status for s in seq] == ["sent", "delivered", "read"]
        assert [s.rank for s in seq] == sorted(s.rank for s in seq)
        for s in seq:
            assert s.errors == [] and s.pricing is not None and s.pricing.pricing_model == "PMP"
            assert s.timestamp_utc is not None
            assert s.conversation is not None and s.conversation.origin_type
    assert statuses[tpl_res.wamid][0].recipient_id == LIAM
    assert statuses[tpl_res.wamid][0].pricing.category == "marketing"
    assert statuses[tpl_res.wamid][0].pricing.billable is True
    assert statuses[text_res.wamid][0].pricing.category == "service"
    assert statuses[text_res.wamid][0].pricing.billable is False
    assert statuses[tpl_res.wamid][0].conversation.expiration_timestamp

    expected_cls = {
        131047: WindowClosedError,
        131049: RecipientError,
        131053: MediaError,
        131026: RecipientError,
    }
    for wamid, code in failed_expect.items():
        [st] = statuses[wamid]
        assert st.is_failed and st.rank == 100 and st.pricing is None
        err = st.error
        assert err is not None and err.code == code
        assert err.title and err.message and err.details and err.href
        assert err.help.title  # the client knows how to explain it
        exc = from_error_payload(err.model_dump(exclude_none=True), None)
        assert type(exc) is expected_cls[code], (code, type(exc))
        assert exc.code == code and exc.details == err.details

    # template status updates
    assert [u.event for u in updates] == ["PAUSED", "REJECTED", "APPROVED"]
    for u in updates:
        assert u.message_template_id == "300000000000101"
        assert u.message_template_name == "weekend_treats_offer"
        assert u.message_template_language == "en_US"
        assert u.reason
    assert updates[0].reason == "LOW_QUALITY"
    assert (updates[0].model_extra or {}).get("other_info", {}).get("title")


def _status_names(receiver, wamid: str) -> set[str]:
    return {s["status"] for s in receiver.statuses(wamid)}
