"""pywa (a third-party Cloud API client) works against the simulator, only the base URL changes.

pywa builds its own base URL (``https://graph.facebook.com/v{version}``) on the httpx session
it is given. The session is ours, so after constructing ``WhatsApp`` we set its ``base_url``
(public httpx API) — nothing in pywa is patched.
"""

from __future__ import annotations

import time

import httpx
import pytest

from ctreflex.simulator import samples

from .conftest import TOKEN, Receiver

pywa = pytest.importorskip("pywa")

WABA = "100000000000001"
PNID = "200000000000001"
CUSTOMER = "14165550123"  # Canada: marketing allowed


def make_client(base: str):
    from pywa import WhatsApp

    session = httpx.Client(timeout=10)
    wa = WhatsApp(phone_id=PNID, token=TOKEN, waba_id=WABA, session=session,
                  api_version="23.0")
    session.base_url = f"{base}/v23.0"  # the only change versus graph.facebook.com
    return wa


def test_pywa_against_simulator(served: str, receiver: Receiver) -> None:
    from pywa.types.templates import (
        BodyText,
        HeaderImage,
        HeaderText,
        QuickReplyButton,
        TemplateLanguage,
        URLButton,
    )

    wa = make_client(served)
    # the customer writes first so the service window is open
    r = httpx.post(f"{served}/control/customers/{CUSTOMER}/messages",
                   json={"type": "text", "text": "Hi, are you open on Sunday?"})
    assert r.status_code == 200

    sent = wa.send_message(to=CUSTOMER, text="Yes, 8am to 2pm!")
    assert sent.id.startswith("wamid.")

    media = wa.upload_media(media=samples.jpeg(), mime_type="image/jpeg",
                            filename="rolls.jpg")
    assert media.id.isdigit()
    img = wa.send_image(to=CUSTOMER, image=media.id, caption="Fresh cinnamon rolls")
    assert img.id.startswith("wamid.")
    url = wa.get_media_url(media.id)
    assert url.mime_type == "image/jpeg" and url.file_size == len(samples.jpeg())

    tpl = wa.send_template(
        to=CUSTOMER, name="order_ready", language=TemplateLanguage.ENGLISH_US,
        params=[HeaderText.params("#1042"),
                BodyText.params("Liam", "sourdough loaf", "12 Baker Street")])
    assert tpl.id.startswith("wamid.")
    promo = wa.send_template(
        to=CUSTOMER, name="weekend_treats_offer", language=TemplateLanguage.ENGLISH_US,
        params=[HeaderImage.params(image=media.id),
                BodyText.params("Liam", "cinnamon rolls", "15%"),
                URLButton.params(url_variable="WEEKEND15", index=0),
                QuickReplyButton.params(callback_data="STOP_PROMOS", index=2)])
    assert promo.id.startswith("wamid.")

    templates = wa.get_templates()
    names = {t.name for t in templates}
    assert {"order_ready", "weekend_treats_offer", "spring_whitening_offer"} <= names
    numbers = wa.get_business_phone_numbers()
    assert {n.id for n in numbers} == {PNID, "200000000000002", "200000000000003"}
    one = wa.get_business_phone_number()
    assert one.verified_name == "Demo Bakery"

    # pywa maps our error bodies to its typed exceptions
    from pywa.errors import TemplateNotExists

    with pytest.raises(TemplateNotExists):
        wa.send_template(to=CUSTOMER, name="nope", language=TemplateLanguage.ENGLISH_US)

    # every accepted send produced a signed "sent" status
    deadline = time.time() + 5
    wanted = {sent.id, img.id, tpl.id, promo.id}
    while time.time() < deadline:
        got = {s["id"] for s in receiver.statuses() if s["status"] == "sent"}
        if wanted <= got:
            break
        time.sleep(0.05)
    assert wanted <= {s["id"] for s in receiver.statuses() if s["status"] == "sent"}
    outbox = httpx.get(f"{served}/control/outbox", params={"to": CUSTOMER}).json()["messages"]
    assert outbox[-1]["template"]["buttons"][0]["url"].endswith("promo=WEEKEND15")
