"""Admin → Webhook events in Chromium: a webhook parked as dead shows with its reason, Retry
processes it (the customer's message lands in the inbox), Discard dismisses another; the other
account's admin sees neither."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlmodel import Session, select

from ctreflex.models import Message, WebhookEvent
from ctreflex.services import seed
from tests.api.conftest import wait_for
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def _dead_event(engine, mid: str, text: str) -> int:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": seed.DEMO_WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100100",
                         "phone_number_id": seed.DEMO_PNID},
            "contacts": [{"profile": {"name": "Maria Lopez"}, "wa_id": "12125550142"}],
            "messages": [{"from": "12125550142", "id": mid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]})
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s:
        event = WebhookEvent(provider="whatsapp", body=body, state="dead", attempts=5,
                             body_sha256=hashlib.sha256(body.encode()).hexdigest(),
                             error="Parked after 5 tries: RuntimeError: the disk said no",
                             last_error_at=now, processed_at=now, kind="messages")
        s.add(event)
        s.commit()
        return event.id


def test_admin_retries_and_discards_dead_webhooks(page: Page, served_app, base_url):
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    stamp = time.monotonic_ns()
    retry_mid, discard_mid = f"wamid.page.retry.{stamp}", f"wamid.page.discard.{stamp}"
    retry_id = _dead_event(engine, retry_mid, "Parked, then retried from the page")
    discard_id = _dead_event(engine, discard_mid, "Parked, then discarded")

    login(page, base_url, "admin@harbor.test", "harbor-admin-1")
    page.goto(base_url + "/admin/events")
    expect(page.get_by_text("No rejected, parked or failing webhook events.")).to_be_visible()
    expect(page.get_by_role("button", name=f"Retry event {retry_id}")).to_have_count(0)
    page.context.clear_cookies()

    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/admin/events")
    row = page.locator(f"#event-{retry_id}")
    expect(row).to_contain_text("dead")
    expect(row).to_contain_text("Parked after 5 tries: RuntimeError: the disk said no")

    page.get_by_role("button", name=f"Retry event {retry_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Event {retry_id} will be processed")

    def stored():
        with Session(engine) as s:
            return s.exec(select(Message).where(Message.provider_message_id == retry_mid)).first()

    assert wait_for(stored, timeout=20).body == "Parked, then retried from the page"
    with Session(engine) as s:
        assert s.get(WebhookEvent, retry_id).state == "done"

    page.get_by_role("button", name=f"Discard event {discard_id}").click()
    expect(page.locator(f"#event-{discard_id}")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Webhook events")).to_be_visible()
    expect(page.locator(f"#event-{retry_id}")).to_have_count(0)  # done: no longer a problem
    with Session(engine) as s:
        assert s.get(WebhookEvent, discard_id).state == "discarded"
        assert s.exec(select(Message).where(Message.provider_message_id == discard_mid)).first() \
            is None
    engine.dispose()
