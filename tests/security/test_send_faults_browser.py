"""What the agent sees when a send meets the simulator's faults (Chromium, the served app with
its real 15 s Graph client and the outbox's own timer): an unconfirmed send offers no Retry
and turns into "Delivered" when the status webhook comes; a rate-limited one shows when it is
retried, offers no Retry, and goes out once at that time."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser


def _faults(base: str, **faults) -> None:
    r = httpx.put(f"{base}/simulator/control/faults", json=faults, timeout=15)
    assert r.status_code == 200, r.text


def _copies(base: str, wa_id: str, text: str) -> list[dict]:
    r = httpx.get(f"{base}/simulator/control/outbox", params={"to": wa_id}, timeout=15)
    return [m for m in r.json()["messages"]
            if (m["request"].get("text") or {}).get("body") == text]


def test_unconfirmed_and_retrying_sends_say_so_and_go_out_once(page: Page, base_url):
    wa_id, name = f"1212556{uuid.uuid4().int % 10_000:04d}", f"Fault {uuid.uuid4().hex[:6]}"
    r = httpx.post(f"{base_url}/simulator/control/customers/{wa_id}/messages",
                   json={"profile_name": name, "type": "text", "text": "Are you open?"},
                   timeout=15)
    assert r.status_code == 200, r.text
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("link", name=conversation_name(name)).first.click()
    page.wait_for_url(re.compile(r"/inbox/\d+$"))
    thread = page.get_by_role("log", name="Conversation history")
    expect(thread).to_contain_text("Are you open?", timeout=15_000)
    box = page.get_by_role("textbox", name="Message")

    try:
        # Meta takes the message but its answer never comes in time (client timeout 15 s).
        _faults(base_url, hang_after_accept_ms=20_000, hang_after_accept_count=1,
                webhook_paused=True)
        first = "Yes, until 7 pm (slow answer)"
        box.fill(first)
        box.press("Enter")
        bubble = thread.locator(".ct-msg").filter(has_text=first)
        expect(bubble.get_by_role("status")).to_contain_text(
            "Sent? Waiting for WhatsApp to confirm", timeout=40_000)
        expect(bubble.get_by_role("button", name="Retry")).to_have_count(0)
        expect(bubble.get_by_role("img", name="Not delivered")).to_have_count(0)
        # Meta's status webhook (with our callback data) reconciles it: no second copy.
        _faults(base_url, webhook_paused=False)
        expect(bubble.get_by_role("img", name="Delivered")).to_be_visible(timeout=90_000)
        expect(bubble.get_by_role("status")).to_have_count(0)
        assert len(_copies(base_url, wa_id, first)) == 1

        # Meta refuses for now (130429) more often than the client's own quick retries.
        _faults(base_url, force_error_code=130429, count=4)
        second = "Our oven is busy (rate limited)"
        box.fill(second)
        box.press("Enter")
        bubble = thread.locator(".ct-msg").filter(has_text=second)
        note = bubble.get_by_role("status")
        expect(note).to_contain_text(re.compile(r"Retrying at \d\d:\d\d \(attempt 2 of 5\)"),
                                     timeout=30_000)
        expect(bubble.get_by_role("button", name="Retry")).to_have_count(0)
        assert _copies(base_url, wa_id, second) == []
        # ... and the outbox sends it at that time, once.
        expect(bubble.get_by_role("img", name="Delivered")).to_be_visible(timeout=90_000)
        assert len(_copies(base_url, wa_id, second)) == 1
    finally:
        _faults(base_url, webhook_paused=False, force_error_code=None, hang_after_accept_ms=0)
