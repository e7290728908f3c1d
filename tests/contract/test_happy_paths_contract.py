"""Contract 3: the client's happy paths against the simulator (request shapes the simulator
accepts, responses the client's models read)."""

from __future__ import annotations

import hashlib

import pytest

from ctreflex.simulator import samples
from ctreflex.whatsapp import PhoneNumber, Template
from ctreflex.whatsapp.templates import build_components, required_fields

from .conftest import (
    DEMO_WABA,
    LIAM,
    MARIA,
    ORDERS_PNID,
    PIN,
    PNID,
    UK_PNID,
    customer_says,
    wait_for,
)

pytestmark = pytest.mark.anyio


async def _outbox(ctl, wamid: str) -> dict:
    r = await ctl.get("/control/outbox")
    return next(m for m in r.json()["messages"] if m["wamid"] == wamid)


async def test_send_text_and_mark_read(wa, ctl, receiver) -> None:
    inbound = await customer_says(ctl, MARIA, text="Are croissants ready?")
    res = await wa.send_text(
        PNID,
        "+1 (555) 010-0142",
        "Yes, fresh at 8am! https://x.example",
        preview_url=True,
        reply_to=inbound["wamid"],
        biz_opaque_callback_data="ticket-42",
    )
    assert res.wamid.startswith("wamid.")
    assert res.wa_id == MARIA
    assert res.contacts[0].input == "15550100142"  # the client normalises the number
    assert res.message_status is None  # only templates carry message_status
    sent = await _outbox(ctl, res.wamid)
    assert sent["request"]["text"] == {
        "body": "Yes, fresh at 8am! https://x.example",
        "preview_url": True,
    }
    assert sent["request"]["context"] == {"message_id": inbound["wamid"]}
    statuses = await wait_for(
        lambda: [s for s in receiver.statuses(res.wamid) if s["status"] == "delivered"]
    )
    assert statuses[0]["biz_opaque_callback_data"] == "ticket-42"

    assert await wa.mark_read(PNID, inbound["wamid"]) is True
    assert await wa.mark_read(PNID, inbound["wamid"], typing_indicator=True) is True
    chat = (await ctl.get(f"/control/customers/{MARIA}")).json()
    [msg] = [m for m in chat["messages"] if m["wamid"] == inbound["wamid"]]
    assert msg["read_by_business"] is True


async def test_upload_send_image_get_and_download(wa, ctl) -> None:
    await customer_says(ctl, MARIA)  # open the window
    jpeg = samples.jpeg()
    media_id = await wa.upload_media(PNID, jpeg, "image/jpeg", "rolls.jpg")
    res = await wa.send_media(PNID, MARIA, "image", media_id=media_id, caption="Today's rolls")
    sent = await _outbox(ctl, res.wamid)
    assert sent["request"]["image"] == {"id": media_id, "caption": "Today's rolls"}

    info = await wa.get_media(media_id)
    assert info.id == media_id and info.mime_type == "image/jpeg"
    assert info.file_size == len(jpeg)
    assert info.sha256 == hashlib.sha256(jpeg).hexdigest()
    assert info.messaging_product == "whatsapp"
    data = await wa.download_media(info.url)
    assert data == jpeg
    assert hashlib.sha256(data).hexdigest() == info.sha256
    with pytest.raises(ValueError):
        await wa.download_media(info.url, max_bytes=10)
    # scoped GET (phone_number_id) works too, and a document round-trips with its filename
    pdf = samples.pdf("Catering menu")
    doc_id = await wa.upload_media(PNID, pdf, "application/pdf", "menu.pdf")
    doc = await wa.get_media(doc_id, phone_number_id=PNID)
    assert await wa.download_media(doc.url) == pdf
    res = await wa.send_media(PNID, MARIA, "document", media_id=doc_id, filename="menu.pdf")
    assert (await _outbox(ctl, res.wamid))["request"]["document"]["filename"] == "menu.pdf"
    assert await wa.delete_media(doc_id) is True


async def test_send_template_built_from_listed_template(wa, ctl, receiver) -> None:
    templates = await wa.list_templates(DEMO_WABA, limit=3)  # forces cursor paging
    control = (await ctl.get("/control/templates")).json()["templates"]
    assert sorted(t.id for t in templates) == sorted(
        t["id"] for t in control if t["waba_id"] == DEMO_WABA
    )
    assert all(isinstance(t, Template) for t in templates)
    offer = next(t for t in templates if t.name == "weekend_treats_offer" and t.language == "en_US")
    keys = [f.key for f in required_fields(offer)]
    assert keys == [
        "header.media",
        "body.1",
        "body.2",
        "body.3",
        "button.0.url_suffix",
        "button.1.payload",
        "button.2.payload",
    ]

    image_id = await wa.upload_media(PNID, samples.jpeg(), "image/jpeg", "rolls.jpg")
    build = build_components(
        offer,
        {
            "header.media": image_id,
            "body.1": "Liam",
            "body.2": "cinnamon rolls",
            "body.3": "15%",
            "button.0.url_suffix": "WEEKEND15",
            "button.1.payload": "SAVE_BOX",
            "button.2.payload": "STOP_PROMOS",
        },
    )
    assert build.ok, build.errors
    res = await wa.send_template(
        PNID, LIAM, name=offer.name, language=offer.language, components=build.components
    )
    assert res.message_status == "accepted"
    shown = (await _outbox(ctl, res.wamid))["template"]
    assert shown["body"].startswith("Hi Liam, our cinnamon rolls are fresh")
    assert "15% off" in shown["body"]
    assert shown["header"]["media_id"] == image_id
    assert shown["buttons"][0]["url"] == "https://demobakery.example.com/order?promo=WEEKEND15"
    assert [b.get("payload") for b in shown["buttons"][1:]] == ["SAVE_BOX", "STOP_PROMOS"]
    await wait_for(
        lambda: {s["status"] for s in receiver.statuses(res.wamid)} >= {"sent", "delivered"}
    )

    # filters pass through to the simulator
    approved = await wa.list_templates(DEMO_WABA, status="APPROVED", category="UTILITY")
    assert approved and all(t.status == "APPROVED" and t.category == "UTILITY" for t in approved)
    named = await wa.list_templates(DEMO_WABA, name="pickup_reminder")
    assert [t.is_named for t in named] == [True]


async def test_phone_numbers(wa) -> None:
    numbers = await wa.list_phone_numbers(DEMO_WABA)
    assert [n.id for n in numbers] == [PNID, ORDERS_PNID, UK_PNID]
    assert all(isinstance(n, PhoneNumber) for n in numbers)
    pn = await wa.get_phone_number(PNID)
    assert pn.display_phone_number == "+1 555-010-0100"
    assert pn.verified_name == "Demo Bakery"
    assert pn.code_verification_status == "VERIFIED"
    assert pn.quality_rating == "GREEN"
    assert pn.throughput_level == "STANDARD"
    assert pn.status == "CONNECTED"
    assert pn.platform_type == "CLOUD_API"
    assert pn.messaging_limit_tier == "TIER_2K"
    assert pn.name_status == "APPROVED"
    orders = await wa.get_phone_number(ORDERS_PNID)
    assert orders.code_verification_status == "NOT_VERIFIED"


async def test_request_verify_register_then_send(wa, ctl) -> None:
    assert await wa.request_code(ORDERS_PNID, "SMS", "en_US") is True
    codes = (await ctl.get("/control/codes")).json()["codes"]
    assert codes[ORDERS_PNID]["method"] == "SMS"
    assert await wa.verify_code(ORDERS_PNID, codes[ORDERS_PNID]["code"]) is True
    assert await wa.register(ORDERS_PNID, PIN) is True
    pn = await wa.get_phone_number(ORDERS_PNID)
    assert pn.code_verification_status == "VERIFIED"
    assert pn.status == "CONNECTED" and pn.platform_type == "CLOUD_API"
    await customer_says(ctl, MARIA, phone_number_id=ORDERS_PNID)
    assert (await wa.send_text(ORDERS_PNID, MARIA, "Now on the orders line")).wamid
    # adding a number: the same number again returns the same id
    new_id = await wa.add_phone_number(DEMO_WABA, "1", "5550100155", "Demo Bakery Kiosk")
    assert new_id == await wa.add_phone_number(DEMO_WABA, "1", "5550100155", "Demo Bakery Kiosk")
    assert new_id in [n.id for n in await wa.list_phone_numbers(DEMO_WABA)]
    assert await wa.deregister(ORDERS_PNID) is True
    assert (await wa.get_phone_number(ORDERS_PNID)).status == "DISCONNECTED"
