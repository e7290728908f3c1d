"""Admin › API & webhooks in Chromium: a key is created and shown once, works at once, is listed
by its prefix only, and once revoked stops working; a webhook endpoint's secret is shown once,
its failed delivery is listed with its attempts, and Replay from the page tries it again."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, wait_hydrated

pytestmark = pytest.mark.browser


def test_api_key_created_shown_once_and_revoked(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/admin/api")
    page.get_by_label("Name", exact=True).fill("Booking system")
    page.get_by_role("checkbox", name=re.compile(r"^send")).check()
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("New API key: Booking system")
    expect(shown).to_be_visible()
    key = shown.input_value()
    assert key.startswith("ctk_") and len(key) > 40
    r = httpx.get(base_url + "/api/v1/contacts", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["data"]
    row = (
        page.get_by_role("table", name="API keys")
        .get_by_role("row")
        .filter(has_text="Booking system")
    )
    expect(row).to_contain_text(key[:12] + "…")
    expect(row).to_contain_text("read send")
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_label("New API key: Booking system")).to_have_count(0)
    page.reload()
    wait_hydrated(page)
    expect(page.get_by_role("table", name="API keys")).to_contain_text("Booking system")
    assert key not in page.content()  # never shown again
    page.get_by_role("button", name="Revoke key Booking system").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(row).to_contain_text("Revoked")
    r = httpx.get(base_url + "/api/v1/contacts", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401


def test_webhook_secret_once_and_replay_from_the_page(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/admin/api")
    page.get_by_label("URL (https://…)").fill("http://127.0.0.1:1/hook")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("https://")  # local URLs are refused
    page.get_by_label("URL (https://…)").fill("https://hooks.example.invalid/ct")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_label("Signing secret for https://hooks.example.invalid/ct")
    expect(secret).to_be_visible()
    assert secret.input_value().startswith("whsec_")
    page.get_by_role("button", name="I have copied it").click()
    expect(secret).to_have_count(0)
    # a customer writes: the event is queued and tried at once (the host cannot be reached)
    r = httpx.post(
        f"{base_url}/simulator/control/customers/15550100142/messages",
        json={"type": "text", "text": "webhook check"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    table = page.get_by_role("table", name="Webhook deliveries")
    for _ in range(20):
        page.get_by_role("button", name="Refresh").click()
        if table.count() and "1 ·" in table.inner_text():
            break
        page.wait_for_timeout(500)
    expect(table).to_contain_text("message.received")
    expect(table).to_contain_text("1 ·")
    replay = table.get_by_role("button", name="Replay delivery").first
    replay.click()
    expect(page.get_by_role("status").filter(has_text="sent again")).to_be_visible()
    for _ in range(20):
        page.get_by_role("button", name="Refresh").click()
        if "2 ·" in table.inner_text():
            break
        page.wait_for_timeout(500)
    expect(table).to_contain_text("2 ·")  # the replay made a second attempt
    # turned off, the endpoint gets nothing more (the other browser tests share this app)
    page.get_by_role("button", name="Turn off endpoint https://hooks.example.invalid/ct").click()
    expect(
        page.get_by_role("button", name="Turn on endpoint https://hooks.example.invalid/ct")
    ).to_be_visible()
