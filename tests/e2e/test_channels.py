"""Issue 7, must-show 1 and 3: one thread across SMS and WhatsApp, the composer's channel
switch, and "Resend as SMS" on a failed WhatsApp message. The two simulators play the customer.

Each test makes its own (Canadian, so SMS-capable) customer: the session's other tests keep
their seeded data.
"""

from __future__ import annotations

import random
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import conversation_name, login
from tests.e2e.test_templates_composer import fresh_canadian_number, tiny_png

pytestmark = pytest.mark.browser


def wa_customer_writes(base_url: str, wa_id: str, text: str, name: str) -> None:
    httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"type": "text", "text": text, "profile_name": name},
        timeout=10,
    ).raise_for_status()


def sms_customer_writes(base_url: str, number: str, body: str) -> None:
    httpx.post(
        f"{base_url}/sms-simulator/control/customers/+{number}/messages",
        json={"body": body},
        timeout=10,
    ).raise_for_status()


def sms_outbox(base_url: str, number: str) -> list[dict]:
    r = httpx.get(f"{base_url}/sms-simulator/control/outbox", params={"to": "+" + number})
    r.raise_for_status()
    return r.json()["messages"]


def wa_outbox(base_url: str, wa_id: str) -> list[dict]:
    r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=10)
    r.raise_for_status()
    return r.json()["messages"]


def open_conversation(page: Page, base_url: str, name: str) -> None:
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    link = page.get_by_role("link", name=conversation_name(name)).first
    expect(link).to_be_visible(timeout=20_000)
    link.click()
    page.wait_for_url(re.compile(r"/inbox/\d+"))
    expect(page.get_by_role("heading", name=name, level=2).first).to_be_visible()


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(box).to_have_value("")


def test_one_thread_across_sms_and_whatsapp(page: Page, base_url, tmp_path):
    number = fresh_canadian_number()
    name = f"Sam Channels {random.randint(100, 999)}"
    # the customer wrote on WhatsApp this morning (the window is open), then texts by SMS
    wa_customer_writes(base_url, number, "Hi, it's Sam on WhatsApp", name)
    open_conversation(page, base_url, name)
    thread = page.get_by_role("log", name="Conversation history")
    expect(thread).to_contain_text("Hi, it's Sam on WhatsApp")
    sms_customer_writes(base_url, number, "Do you deliver on Sundays?")
    expect(thread).to_contain_text("Do you deliver on Sundays?", timeout=15_000)

    switch = page.get_by_role("radiogroup", name="Channel")
    sms, whatsapp = (switch.get_by_role("radio", name=n) for n in ("SMS", "WhatsApp"))
    expect(sms).to_have_attribute("aria-checked", "true")  # reply where the customer wrote
    expect(whatsapp).to_contain_text("Window open")
    expect(page.locator("#composer-cost")).to_contain_text("SMS")

    # the agent answers by SMS: the segment count replaces the 4,096 counter
    box = page.get_by_role("textbox", name="Message")
    box.fill("Yes, we deliver on Sundays until noon.")
    expect(page.locator("#composer-segments")).to_have_text("1 SMS segment · 122 left · GSM-7")
    expect(page.locator("#composer-count")).to_have_count(0)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(box).to_have_value("")
    expect(thread).to_contain_text("Yes, we deliver on Sundays until noon.")

    # switches to WhatsApp to send a photo
    whatsapp.click()
    expect(whatsapp).to_have_attribute("aria-checked", "true")
    expect(page.locator("#composer-count")).to_have_text("0 / 4,096")
    page.locator("#composer input[type=file]").set_input_files(str(tiny_png(tmp_path / "cake.png")))
    expect(page.locator("#attachment-chip")).to_contain_text("cake.png")
    send(page, "Here is the Sunday cake")
    expect(page.locator("#attachment-chip")).to_have_count(0)

    # and back to SMS
    sms.click()
    expect(sms).to_have_attribute("aria-checked", "true")
    send(page, "Reply here any time.")
    expect(thread).to_contain_text("Reply here any time.")

    # one thread, each message marked with its channel, each switch marked
    def row(text: str):
        return thread.locator(".ct-msg", has_text=text).last

    expected = [
        ("Hi, it's Sam on WhatsApp", "WhatsApp"),
        ("Do you deliver on Sundays?", "SMS"),
        ("Yes, we deliver on Sundays until noon.", "SMS"),
        ("Here is the Sunday cake", "WhatsApp"),
        ("Reply here any time.", "SMS"),
    ]
    for text, channel in expected:
        expect(row(text).locator(".ct-chan-mark")).to_have_text(channel)
    expect(row("Do you deliver on Sundays?").get_by_role("separator")).to_have_attribute(
        "aria-label", "Switched to SMS"
    )
    expect(row("Here is the Sunday cake").get_by_role("separator")).to_have_attribute(
        "aria-label", "Switched to WhatsApp"
    )
    expect(row("Reply here any time.").get_by_role("separator")).to_have_attribute(
        "aria-label", "Switched to SMS"
    )
    expect(row("Yes, we deliver").locator(".ct-switch-sep")).to_have_count(0)
    expect(row("Here is the Sunday cake").get_by_role("img", name="Delivered")).to_be_visible(
        timeout=15_000
    )

    # each simulator received each message on the right channel
    texts = [m["body"] for m in sms_outbox(base_url, number)]
    assert texts == ["Yes, we deliver on Sundays until noon.", "Reply here any time."]
    wa = wa_outbox(base_url, number)
    assert [m["type"] for m in wa] == ["image"]
    assert wa[0]["request"]["image"]["caption"] == "Here is the Sunday cake"


def test_failed_whatsapp_message_resent_as_sms(page: Page, base_url):
    number = fresh_canadian_number()
    name = f"Rita Resend {random.randint(100, 999)}"
    wa_customer_writes(base_url, number, "Is my order on its way?", name)
    open_conversation(page, base_url, name)
    expect(page.get_by_role("radio", name="WhatsApp")).to_have_attribute("aria-checked", "true")

    faults = f"{base_url}/simulator/control/faults"
    httpx.put(
        faults, json={"force_error_code": 131026, "force_error_async": True, "count": 1}
    ).raise_for_status()
    try:
        words = "Your order left the bakery at 10:05."
        send(page, words)
        thread = page.get_by_role("log", name="Conversation history")
        failed = thread.locator(".ct-msg[data-direction=outbound]", has_text=words).first
        expect(failed.get_by_role("img", name="Not delivered")).to_be_visible(timeout=15_000)
    finally:
        httpx.put(faults, json={"force_error_code": None, "force_error_async": False})

    failed.get_by_role("button", name="Resend as SMS").click()
    resent = thread.locator(".ct-msg[data-channel=sms][data-direction=outbound]", has_text=words)
    expect(resent).to_have_count(1, timeout=15_000)
    expect(resent.get_by_role("link", name="Resent from WhatsApp")).to_be_visible()
    expect(failed.get_by_role("link", name="Resent as SMS")).to_be_visible()
    expect(failed.get_by_role("button", name="Resend as SMS")).to_have_count(0)
    # the links point at each other
    failed_id = failed.get_attribute("id")
    resent_id = resent.get_attribute("id")
    expect(resent.get_by_role("link", name="Resent from WhatsApp")).to_have_attribute(
        "href", re.compile("#" + failed_id + "$")
    )
    expect(failed.get_by_role("link", name="Resent as SMS")).to_have_attribute(
        "href", re.compile("#" + resent_id + "$")
    )
    assert [m["body"] for m in sms_outbox(base_url, number)] == [words]
