"""Issue 17 in Chromium: a long thread opens on its newest page, and "Load older messages"
draws the page before it above (keyset paging, services/thread_view.py)."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login
from tests.factories import make_account, make_conversation, make_message, now, served_session

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")  # a folder: screenshots to look at, by eye


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
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/thread-load-older-1400.png")
    page.get_by_role("button", name="Load older messages").click()
    expect(log).to_contain_text("Long thread line 000", timeout=15_000)
    expect(log).to_contain_text("Long thread line 149")
    expect(page.get_by_role("button", name="Load older messages")).to_have_count(0)


def test_a_long_list_shows_fifty_then_the_rest_on_show_more(page: Page, served_app, base_url):
    with served_session(served_app) as s:
        tenant = make_account(s)
        for n in range(55):  # "Paged 00" wrote last, "Paged 54" first
            make_conversation(
                s, tenant.account, name=f"Paged {n:02d}", window_hours_left=20 - n * 0.1
            )
    login(page, base_url, *tenant.login("admin"))
    page.goto(f"{base_url}/inbox")
    rows = page.get_by_role("list", name="Conversations").get_by_role("link")
    expect(rows).to_have_count(50, timeout=30_000)
    expect(rows.first).to_have_accessible_name(re.compile(r"^Paged 00\b"))
    expect(rows.nth(49)).to_have_accessible_name(re.compile(r"^Paged 49\b"))
    expect(page.locator("#conversation-count")).to_have_text("50 of 55 conversations")
    more = page.get_by_role("button", name="Show more conversations")
    if SHOTS:
        more.scroll_into_view_if_needed()
        page.screenshot(path=f"{SHOTS}/list-show-more-1400.png")
    more.click()
    expect(rows).to_have_count(55)
    expect(page.locator("#conversation-count")).to_have_text("55 conversations")
    expect(rows.nth(54)).to_have_accessible_name(re.compile(r"^Paged 54\b"))
    expect(more).to_have_count(0)
    # a filter starts again from its first page
    page.get_by_role("button", name=re.compile(r"^Window open")).click()
    expect(rows).to_have_count(50)
    expect(more).to_be_visible()
