"""When a conversation's 24-hour window runs out while the agent looks at it, the chip turns
to closed and the composer locks, live, without a reload."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser


def test_window_closing_while_open_locks_the_composer_live(page: Page, served_app):
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=12)
    with engine.begin() as conn:
        conv_id = conn.execute(text(
            "SELECT conversation.id FROM conversation JOIN contact "
            "ON contact.id = conversation.contact_id WHERE contact.name = 'Sofía García'"
        )).scalar_one()
        conn.execute(text("UPDATE conversation SET window_expires_at = :at WHERE id = :id"),
                     {"at": closes.replace(tzinfo=None), "id": conv_id})
    engine.dispose()

    login(page, served_app.url, "agent@demo.test", "demo-agent-1")
    page.goto(f"{served_app.url}/inbox/{conv_id}")
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_be_enabled(timeout=15_000)
    expect(page.locator("#window-countdown")).to_have_text(re.compile(r"^closes in "))
    row = page.get_by_role("link", name=conversation_name("Sofía García")).first
    expect(row).not_to_contain_text("Closed")

    expect(page.locator("#window-countdown")).to_have_text("Window closed", timeout=30_000)
    expect(box).to_be_disabled(timeout=15_000)
    expect(page.locator("#composer")).to_contain_text("24-hour window is closed")
    expect(row).to_contain_text("Closed", timeout=15_000)
