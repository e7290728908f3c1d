"""The inbox in Chromium: list, search and filters, opening a thread, the 24-hour window, the
composer's count and locks, attachments refused by the product rules, phone width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser


def conv_link(page: Page, name: str):
    # .first: other flows in the session may add a namesake customer
    return page.get_by_role("link", name=conversation_name(name)).first


def open_conversation(page: Page, base_url: str, name: str) -> None:
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    conv_link(page, name).click()
    page.wait_for_url(re.compile(r"/inbox/\d+"))
    expect(page.get_by_role("heading", name=name, level=2).first).to_be_visible()


def test_list_shows_demo_conversations_with_window_chips(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    listing = page.locator("#conversation-list")
    for name in ("Maria Lopez", "Dev Patel", "Aiko Tanaka", "Carlos Hernández"):
        expect(conv_link(page, name)).to_be_visible()
    assert listing.get_by_role("listitem").count() >= 12
    # open windows show the time left, closed ones say so
    expect(conv_link(page, "Lena Schmidt")).to_contain_text(re.compile(r"\d+ h \d+ min"))
    expect(conv_link(page, "Carlos Hernández")).to_contain_text("Closed")
    # number, country and channel
    expect(conv_link(page, "Oliver Hughes")).to_contain_text("+44 20 7946 0123 · GB")
    expect(conv_link(page, "Oliver Hughes")).to_contain_text("WhatsApp")
    # an empty thread pane until one is chosen
    expect(page.get_by_role("heading", name="Select a conversation")).to_be_visible()


def test_search_by_text_and_number_then_filters(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    search = page.get_by_role("searchbox", name="Search conversations")
    search.fill("gluten")
    expect(conv_link(page, "Dev Patel")).to_be_visible()
    expect(conv_link(page, "Sofía García")).to_be_visible()
    expect(conv_link(page, "Lena Schmidt")).to_have_count(0)
    search.fill("+44 20")
    expect(conv_link(page, "Oliver Hughes")).to_be_visible()
    expect(conv_link(page, "Dev Patel")).to_have_count(0)
    search.fill("no such customer anywhere")
    expect(page.get_by_text("No conversations match")).to_be_visible()
    page.get_by_role("button", name="Clear search").click()
    expect(conv_link(page, "Dev Patel")).to_be_visible()

    filters = page.get_by_role("group", name="Filter conversations")
    filters.get_by_role("button", name="Closed").click()
    expect(filters.get_by_role("button", name="Closed")).to_have_attribute("aria-pressed", "true")
    expect(conv_link(page, "Carlos Hernández")).to_be_visible()
    expect(conv_link(page, "Aiko Tanaka")).to_be_visible()
    expect(conv_link(page, "Lena Schmidt")).to_have_count(0)

    filters.get_by_role("button", name="Closing within 2 h").click()
    expect(conv_link(page, "Oliver Hughes")).to_be_visible()
    expect(conv_link(page, "Carlos Hernández")).to_have_count(0)
    expect(conv_link(page, "Lena Schmidt")).to_have_count(0)

    filters.get_by_role("button", name="Window open").click()
    expect(conv_link(page, "Lena Schmidt")).to_be_visible()
    expect(conv_link(page, "Oliver Hughes")).to_be_visible()
    expect(conv_link(page, "Carlos Hernández")).to_have_count(0)

    filters.get_by_role("button", name="Unread").click()
    expect(conv_link(page, "Lena Schmidt")).to_have_count(0)  # read: filtered out
    rows = page.locator("#conversation-list").get_by_role("listitem")
    expect(rows.first).to_be_visible()
    for i in range(rows.count()):
        expect(rows.nth(i)).to_contain_text("unread")

    filters.get_by_role("button", name="All").click()
    page.get_by_role("combobox", name="Sort conversations").click()
    page.get_by_role("option", name="Window closing soonest").click()
    first = page.locator("#conversation-list").get_by_role("link").first
    expect(first).not_to_contain_text("Closed")
    last = page.locator("#conversation-list").get_by_role("link").last
    expect(last).to_contain_text("Closed")


def test_opening_a_conversation_shows_messages_and_clears_unread(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    jack = conv_link(page, "Jack Wilson")
    expect(jack).to_contain_text("unread")
    jack.click()
    page.wait_for_url(re.compile(r"/inbox/\d+$"))
    thread = page.get_by_role("log", name="Conversation history")
    expect(thread).to_contain_text("Can I order 3 dozen croissants for Friday?")
    expect(thread).to_contain_text("Hi Jack, thanks for your order!")
    expect(jack).to_have_attribute("aria-current", "page")
    expect(jack).not_to_contain_text("unread")
    # business bubble shows its read ticks; days are separated
    expect(thread.get_by_role("img", name="Read")).to_be_visible()
    expect(thread.get_by_role("separator").first).to_be_visible()
    # contact panel
    details = page.get_by_role("complementary", name="Contact details")
    expect(details).to_contain_text("Australia")
    expect(details).to_contain_text("WhatsApp profile name")
    expect(details).to_contain_text("First contact")
    # the read state is stored, not only shown
    page.reload()
    expect(conv_link(page, "Jack Wilson")).not_to_contain_text("unread")


def test_closed_window_locks_the_composer(page: Page, base_url):
    open_conversation(page, base_url, "Carlos Hernández")
    expect(page.locator("#window-countdown")).to_have_text("Window closed")
    expect(page.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(page.get_by_role("button", name="Attach file")).to_be_disabled()
    expect(page.locator("#composer")).to_contain_text(
        "The 24-hour window is closed. Only an approved template can reach this customer now."
    )
    # the picker is the way to reach them (tests/e2e/test_templates_composer.py sends one)
    expect(page.get_by_role("button", name="Choose template")).to_be_enabled()
    expect(page.get_by_role("radio", name="WhatsApp")).to_contain_text("Window closed")
    # Carlos replied STOP by SMS: SMS is unavailable, with the reason, and the ledger says so
    expect(page.get_by_role("radio", name="SMS")).to_have_attribute("aria-disabled", "true")
    details = page.get_by_role("complementary", name="Contact details")
    expect(details.get_by_role("region", name="Consent history")).to_contain_text(
        'SMS keyword "STOP"'
    )


def test_open_window_counts_down_and_typing_shows_the_live_count(page: Page, base_url):
    open_conversation(page, base_url, "Lena Schmidt")
    expect(page.locator("#window-countdown")).to_have_text(re.compile(r"^closes in \d+ h \d+ min$"))
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_be_enabled()
    expect(page.locator("#composer-count")).to_have_text("0 / 4,096")
    box.fill("Hello 👋🏽")  # an emoji with a skin tone is one character for the customer
    expect(page.locator("#composer-count")).to_have_text("7 / 4,096")
    box.press("Shift+Enter")
    box.type("x")
    expect(box).to_have_value("Hello 👋🏽\nx")
    expect(page.locator("#composer-count")).to_have_text("9 / 4,096")

    # the countdown turns to "Window closed" at expiry without a reload (client tick)
    page.evaluate(
        "document.getElementById('window-countdown')"
        ".setAttribute('data-ct-expires', String(Date.now() + 1500))"
    )
    expect(page.locator("#window-countdown")).to_have_text("Window closed", timeout=10_000)


def test_reply_chip_and_refused_attachments(page: Page, base_url, tmp_path):
    open_conversation(page, base_url, "Lena Schmidt")
    thread = page.get_by_role("log", name="Conversation history")
    thread.get_by_role("button", name="Reply").first.hover()
    thread.get_by_role("button", name="Reply").first.click()
    chip = page.locator("#reply-chip")
    expect(chip).to_contain_text("Replying to")
    expect(chip).to_contain_text("Is the rye bread vegan?")
    page.get_by_role("button", name="Cancel reply").click()
    expect(chip).to_have_count(0)

    upload_input = page.locator("#composer input[type=file]")
    voice = tmp_path / "voice-note.mp3"
    voice.write_bytes(b"ID3\x03\x00\x00\x00" + b"\x00" * 2048)
    upload_input.set_input_files(str(voice))
    expect(page.get_by_role("alert")).to_contain_text(
        "Audio files and voice messages are not supported on the WhatsApp channel"
    )

    big = tmp_path / "clip.mp4"
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    big.write_bytes(header + b"\x00" * (17_000_000 - len(header)))
    upload_input.set_input_files(str(big))
    expect(page.get_by_role("alert")).to_contain_text("16 MB", timeout=30_000)
    expect(page.locator("#attachment-chip")).to_have_count(0)


def test_phone_width_shows_one_pane_at_a_time(page: Page, base_url):
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    expect(conv_link(page, "Dev Patel")).to_be_visible()
    conv_link(page, "Dev Patel").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    expect(conv_link(page, "Dev Patel")).not_to_be_visible()
    page.get_by_role("link", name="Back to conversations").click()
    expect(conv_link(page, "Dev Patel")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_have_count(0)
