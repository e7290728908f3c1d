"""The messaging core in Chromium against the in-process simulator: a customer's message
arrives live, the agent answers and the ticks advance, reply quotes go both ways, media is
attached, previewed and downloaded, and live updates stay inside the account."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ctreflex.simulator import samples
from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser


def _customer() -> tuple[str, str]:
    """A customer the app has never seen: a fresh number and profile name."""
    tag = uuid.uuid4().int % 10_000
    return f"1212555{tag:04d}", f"Customer {uuid.uuid4().hex[:6]}"


def _write(base_url: str, wa_id: str, name: str, **body) -> str:
    r = httpx.post(f"{base_url}/simulator/control/customers/{wa_id}/messages",
                   json={"profile_name": name, **body}, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()["wamid"]


def _outbox(base_url: str, wa_id: str) -> list[dict]:
    r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=15)
    return r.json()["messages"]


def _conv(page: Page, name: str):
    return page.get_by_role("link", name=conversation_name(name)).first


def test_message_arrives_live_reply_ticks_advance_and_quotes_go_both_ways(
        page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    wa_id, name = _customer()
    first = f"Hello, do you bake {uuid.uuid4().hex[:4]} cakes?"
    wamid = _write(base_url, wa_id, name, type="text", text=first)

    # It arrives in the open inbox without a reload, unread.
    expect(_conv(page, name)).to_contain_text(first, timeout=15_000)
    expect(_conv(page, name)).to_contain_text("unread")
    _conv(page, name).click()
    page.wait_for_url(re.compile(r"/inbox/\d+$"))
    thread = page.get_by_role("log", name="Conversation history")
    expect(thread).to_contain_text(first)

    # The agent replies to that message (a quote), Enter sends.
    thread.get_by_role("button", name="Reply").last.click()
    expect(page.locator("#reply-chip")).to_contain_text(first)
    answer = "Yes! Every morning from 7."
    box = page.get_by_role("textbox", name="Message")
    box.fill(answer)
    box.press("Enter")
    expect(thread).to_contain_text(answer)
    sent = [m for m in _outbox(base_url, wa_id) if m["request"].get("type") == "text"]
    assert sent and sent[-1]["request"]["text"]["body"] == answer
    assert sent[-1]["request"]["context"]["message_id"] == wamid
    our_wamid = sent[-1]["wamid"]
    expect(thread.get_by_role("img", name="Delivered").last).to_be_visible(timeout=15_000)

    # The customer reads it: blue ticks, live.
    httpx.post(f"{base_url}/simulator/control/customers/{wa_id}/read", json={}, timeout=15)
    expect(thread.get_by_role("img", name="Read").last).to_be_visible(timeout=15_000)

    # The customer swipe-replies to the business's message: the quote shows in the thread.
    back = "Great, see you tomorrow"
    _write(base_url, wa_id, name, type="text", text=back, reply_to=our_wamid)
    expect(thread).to_contain_text(back, timeout=15_000)
    quote = thread.locator(".ct-quote").filter(has_text=answer)
    expect(quote.first).to_be_visible()


def test_image_and_pdf_are_attached_previewed_and_downloaded(page: Page, base_url, tmp_path):
    wa_id, name = _customer()
    _write(base_url, wa_id, name, type="text", text="Send me the menu please")
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    _conv(page, name).click()
    thread = page.get_by_role("log", name="Conversation history")
    upload = page.locator("#composer input[type=file]")

    photo = tmp_path / "croissant.png"
    photo.write_bytes(samples.png(96, 64))
    upload.set_input_files(str(photo))
    expect(page.locator("#attachment-chip")).to_contain_text("croissant.png", timeout=20_000)
    page.get_by_role("textbox", name="Message").fill("Fresh this morning")
    page.get_by_role("button", name="Send").click()
    expect(thread.get_by_role("link", name="Open photo").last).to_be_visible(timeout=15_000)
    image = thread.get_by_role("link", name="Open photo").last.locator("img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 96

    menu = tmp_path / "menu-2026.pdf"
    menu.write_bytes(samples.pdf("Demo Bakery menu"))
    upload.set_input_files(str(menu))
    expect(page.locator("#attachment-chip")).to_contain_text("menu-2026.pdf", timeout=20_000)
    page.get_by_role("button", name="Send").click()
    download_link = thread.get_by_role("link", name="Download menu-2026.pdf").last
    expect(download_link).to_be_visible(timeout=15_000)
    href = download_link.get_attribute("href")
    got = page.request.get(href if href.startswith("http") else base_url + href)
    assert got.status == 200
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.body() == menu.read_bytes()

    kinds = [m["request"].get("type") for m in _outbox(base_url, wa_id)]
    assert "image" in kinds and "document" in kinds
    document = next(m for m in _outbox(base_url, wa_id) if m["request"].get("type") == "document")
    assert document["request"]["document"]["filename"] == "menu-2026.pdf"

    # Media is served only to signed-in users of the account.
    src = image.get_attribute("src")
    assert httpx.get(base_url + src if src.startswith("/") else src).status_code == 401


def test_live_updates_reach_the_accounts_tabs_and_no_other_account(browser: Browser, base_url):
    tabs = []
    for email, password in (("agent@demo.test", "demo-agent-1"),
                            ("admin@demo.test", "demo-admin-1"),
                            ("admin@harbor.test", "harbor-admin-1")):
        context = browser.new_context()
        page = context.new_page()
        login(page, base_url, email, password)
        tabs.append(page)
    bakery_agent, bakery_admin, harbor = tabs
    wa_id, name = _customer()
    text = f"Is the shop open late today? {uuid.uuid4().hex[:4]}"
    _write(base_url, wa_id, name, type="text", text=text)
    expect(bakery_agent.get_by_text(text).first).to_be_visible(timeout=15_000)
    expect(bakery_admin.get_by_text(text).first).to_be_visible(timeout=15_000)
    harbor.wait_for_timeout(1500)
    expect(harbor.get_by_text(text)).to_have_count(0)
    expect(harbor.get_by_role("link", name=conversation_name(name))).to_have_count(0)
    for page in tabs:
        page.context.close()
