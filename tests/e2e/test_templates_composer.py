"""Issue 5, must-show 2: a template sent from the composer's picker on an expired conversation.

The template is the simulator's ``cake_ready_photo`` (en_US): UTILITY, an IMAGE header, two body
variables, a URL button with a suffix and two quick replies. The missing-variable test uses the
marketing ``weekend_treats_offer`` (three variables) to a Canadian number, which Meta allows.
Each test makes its own customer so the session's other tests keep their seeded data.
"""

from __future__ import annotations

import random
import re
import struct
import time
import zlib
from pathlib import Path

import httpx
import phonenumbers
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

TEMPLATE = "cake_ready_photo (en_US)"
MARKETING = "weekend_treats_offer (en_US)"


def fresh_canadian_number() -> str:
    """A valid Toronto number no other test uses (digits only, as a wa_id)."""
    while True:
        digits = f"1437{random.randint(2000000, 9999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse("+" + digits)):
            return digits


def tiny_png(path: Path) -> Path:
    """A 4×4 PNG (real bytes: the server sniffs the type)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xd9\x7a\x2b" * 4 for _ in range(4))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


def sync_templates(browser: Browser, base_url: str) -> None:
    """An admin syncs the catalogue from the simulator (the picker lists the local copy)."""
    context = browser.new_context()
    try:
        admin = context.new_page()
        login(admin, base_url, "admin@demo.test", "demo-admin-1")
        answer = admin.request.post(base_url + "/api/templates/sync")
        assert answer.ok, answer.text()
    finally:
        context.close()


def expired_conversation(base_url: str, name: str) -> str:
    """A customer who last wrote 25 hours ago: their window is closed. Returns the wa_id."""
    wa_id = fresh_canadian_number()
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={
            "type": "text",
            "text": "Do you bake cinnamon rolls?",
            "profile_name": name,
            "timestamp": int(time.time()) - 25 * 3600,
        },
        timeout=10,
    )
    r.raise_for_status()
    return wa_id


def open_conversation(page: Page, base_url: str, name: str) -> None:
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    link = page.get_by_role("link", name=conversation_name(name)).first
    expect(link).to_be_visible(timeout=20_000)
    link.click()
    page.wait_for_url(re.compile(r"/inbox/\d+"))
    expect(page.get_by_role("heading", name=name, level=2).first).to_be_visible()


def outbox(base_url: str, wa_id: str) -> list[dict]:
    r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=10)
    r.raise_for_status()
    return r.json()["messages"]


def picker_item(dialog, template: str):
    """A template in the picker ("name (lang)"): a button named by its text, "name lang …"."""
    name, lang = template.rstrip(")").split(" (")
    return dialog.get_by_role("button", name=re.compile(rf"^{re.escape(name)} {re.escape(lang)}\b"))


def open_picker(page: Page, template: str = TEMPLATE, search: str = "cake"):
    page.get_by_role("button", name="Choose template").click()
    dialog = page.get_by_role("dialog", name="Choose a template")
    expect(dialog).to_be_visible()
    dialog.get_by_role("searchbox", name="Search templates").fill(search)
    picker_item(dialog, template).click()
    expect(dialog.get_by_role("heading", name=template)).to_be_visible()
    return dialog


def test_template_with_image_header_on_an_expired_conversation(
    page: Page, browser: Browser, base_url, tmp_path
):
    sync_templates(browser, base_url)
    name = f"Nora Template {random.randint(100, 999)}"
    wa_id = expired_conversation(base_url, name)
    open_conversation(page, base_url, name)

    # the window is closed: free-form replies are locked, the picker is the way
    expect(page.locator("#window-countdown")).to_have_text("Window closed")
    expect(page.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()

    dialog = open_picker(page)
    # the cost is shown before sending (utility outside the window: billed by Meta)
    expect(dialog.locator("#template-cost")).to_contain_text("Utility")
    expect(dialog.locator("#template-cost")).to_contain_text("billed by Meta")
    preview = dialog.get_by_role("figure", name="Message preview")
    expect(preview).to_contain_text("{{2}}")  # unfilled variables stay visible
    # ({{1}} follows "Hi": filled in advance with the customer's first name, issue 14)
    expect(dialog.get_by_label("Body variable {{1}}")).to_have_value("Nora")

    dialog.locator("#template-header-upload input[type=file]").set_input_files(
        str(tiny_png(tmp_path / "cake.png"))
    )
    expect(dialog.get_by_text("cake.png")).to_be_visible()
    expect(preview.get_by_role("img", name="Header image")).to_be_visible()
    dialog.get_by_label("Body variable {{1}}").fill("Nora")
    dialog.get_by_label("Body variable {{2}}").fill("lemon tart")
    dialog.get_by_label("Link ending for “View order”").fill("A2077")
    expected_body = (
        "Hi Nora, your lemon tart is decorated and ready. Here is a photo; "
        "pick it up any time today."
    )
    expect(preview).to_contain_text(expected_body)
    expect(preview.get_by_role("listitem", name=re.compile("View order"))).to_have_attribute(
        "aria-label", re.compile(r"orders/A2077$")
    )
    dialog.get_by_role("button", name="Send template").click()
    expect(dialog).to_have_count(0)

    # the thread shows it like the preview, with ticks that advance
    thread = page.get_by_role("log", name="Conversation history")
    sent = thread.locator(".ct-msg[data-direction=outbound]").last
    expect(sent).to_contain_text(expected_body)
    expect(sent.get_by_role("img", name="Header image")).to_be_visible()
    expect(sent).to_contain_text("View order")
    expect(sent.get_by_role("img", name="Delivered")).to_be_visible(timeout=15_000)

    # what the simulator received matches the preview
    (msg,) = [m for m in outbox(base_url, wa_id) if m["type"] == "template"]
    request = msg["request"]["template"]
    assert request["name"] == "cake_ready_photo"
    assert request["language"]["code"] == "en_US"
    parts = {c["type"]: c for c in request["components"]}
    assert parts["header"]["parameters"][0]["type"] == "image"
    assert [p["text"] for p in parts["body"]["parameters"]] == ["Nora", "lemon tart"]
    assert parts["button"]["parameters"][0]["text"] == "A2077"
    assert msg["template"]["body"] == expected_body

    # the customer reads it: blue ticks
    httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/read", json={}, timeout=10
    ).raise_for_status()
    expect(sent.get_by_role("img", name="Read")).to_be_visible(timeout=15_000)

    # the customer taps a quick reply: it shows as a reply quoting the template
    httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"type": "button", "button_text": "On my way", "reply_to": msg["wamid"]},
        timeout=10,
    ).raise_for_status()
    reply = thread.locator(".ct-msg[data-direction=inbound]").last
    expect(reply).to_contain_text("On my way", timeout=15_000)
    expect(reply.locator(".ct-quote")).to_contain_text("You")
    expect(reply.locator(".ct-quote")).to_contain_text("Hi Nora, your lemon tart")


def test_missing_variable_is_refused_next_to_its_field(
    page: Page, browser: Browser, base_url, tmp_path
):
    sync_templates(browser, base_url)
    name = f"Omar Template {random.randint(100, 999)}"
    wa_id = expired_conversation(base_url, name)
    open_conversation(page, base_url, name)
    before = outbox(base_url, wa_id)

    dialog = open_picker(page, MARKETING, "weekend")
    dialog.locator("#template-header-upload input[type=file]").set_input_files(
        str(tiny_png(tmp_path / "box.png"))
    )
    expect(dialog.get_by_text("box.png")).to_be_visible()
    dialog.get_by_label("Body variable {{1}}").fill("Omar")
    # {{2}} left empty
    dialog.get_by_label("Body variable {{3}}").fill("10%")
    dialog.get_by_label("Link ending for “Order online”").fill("BOX10")
    dialog.get_by_role("button", name="Send template").click()

    field = dialog.get_by_label("Body variable {{2}}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_role("alert")).to_contain_text("{{2}}")
    expect(dialog.get_by_label("Body variable {{1}}")).to_have_attribute("aria-invalid", "false")
    page.wait_for_timeout(1500)
    assert outbox(base_url, wa_id) == before  # nothing reached the Graph API
    thread = page.get_by_role("log", name="Conversation history")
    expect(thread.locator(".ct-msg[data-direction=outbound]")).to_have_count(0)

    # filling it clears the mark
    field.fill("scones")
    expect(field).to_have_attribute("aria-invalid", "false")


def test_a_template_paused_in_meta_drops_out_of_the_open_picker(
    page: Page, browser: Browser, base_url
):
    sync_templates(browser, base_url)
    name = f"Pia Paused {random.randint(100, 999)}"
    expired_conversation(base_url, name)
    open_conversation(page, base_url, name)
    templates = httpx.get(f"{base_url}/simulator/control/templates", timeout=10).json()
    (loyalty,) = [
        t
        for t in templates["templates"]
        if t["name"] == "loyalty_reward_code" and t["waba_id"] == "100000000000001"
    ]
    status_url = f"{base_url}/simulator/control/templates/{loyalty['id']}/status"

    page.get_by_role("button", name="Choose template").click()
    dialog = page.get_by_role("dialog", name="Choose a template")
    picker_item(dialog, "loyalty_reward_code (en_US)").click()
    expect(dialog.get_by_label("Coupon code")).to_be_visible()
    httpx.post(status_url, json={"status": "PAUSED", "reason": "LOW_QUALITY"}).raise_for_status()
    try:
        expect(dialog.get_by_role("status")).to_contain_text(
            "loyalty_reward_code (en_US) can no longer be sent", timeout=15_000
        )
        expect(picker_item(dialog, "loyalty_reward_code (en_US)")).to_have_count(0)
        expect(picker_item(dialog, "order_ready (en_US)")).to_be_visible()
    finally:
        httpx.post(status_url, json={"status": "APPROVED"}).raise_for_status()
    expect(picker_item(dialog, "loyalty_reward_code (en_US)")).to_be_visible(
        timeout=15_000
    )
