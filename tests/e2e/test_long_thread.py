"""Issue 17 in Chromium: a long thread opens on its newest page, and "Load older messages"
draws the page before it above (keyset paging, services/thread_view.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login
from tests.factories import make_account, make_conversation, make_message, now, served_session

pytestmark = pytest.mark.browser


def test_a_long_thread_shows_its_newest_page_then_older_messages_on_request(
    page: Page, served_app, base_url
):
    with served_session(served_app) as s:
        tenant = make_account(s)
        conv = make_conversation(s, tenant.account, inbound=())
        start = now() - dt.timedelta(hours=5)
        for n in range(150):
            make_message(
                s, conv, body=f"Long thread line {n:03d}", at=start + dt.timedelta(minutes=n)
            )
    login(page, base_url, *tenant.login("admin"))
    page.goto(f"{base_url}/inbox/{conv.id}")
    log = page.get_by_role("log", name="Conversation history")
    expect(log).to_contain_text("Long thread line 149", timeout=30_000)
    expect(log).to_contain_text("Long thread line 050")  # the newest 100
    expect(log).not_to_contain_text("Long thread line 049")
    page.get_by_role("button", name="Load older messages").click()
    expect(log).to_contain_text("Long thread line 000", timeout=15_000)
    expect(log).to_contain_text("Long thread line 149")
    expect(page.get_by_role("button", name="Load older messages")).to_have_count(0)
