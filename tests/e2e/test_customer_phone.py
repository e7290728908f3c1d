"""The simulator's customer-phone page, served inside the app: what a customer types there
reaches the app's webhook and shows in the business's inbox."""

import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def test_customer_message_typed_on_the_phone_reaches_the_inbox(page: Page, served_app):
    words = f"Do you still have rye bread? {uuid.uuid4().hex[:6]}"
    page.goto(served_app.url + "/simulator/")
    page.get_by_role("combobox", name="Customer").select_option("12125550142")
    page.get_by_role("textbox", name="Message").fill(words)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("log", name="Conversation").get_by_text(words)).to_be_visible()

    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    with engine.connect() as conn:
        for _ in range(100):
            row = conn.execute(
                text("SELECT direction, channel FROM message WHERE body = :b"), {"b": words}
            ).first()
            if row:
                break
            page.wait_for_timeout(100)
    engine.dispose()
    assert row is not None and tuple(row) == ("inbound", "whatsapp")

    inbox = page.context.new_page()
    login(inbox, served_app.url, "agent@demo.test", "demo-agent-1")
    expect(inbox.get_by_text(words).first).to_be_visible(timeout=15_000)
