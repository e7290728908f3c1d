"""Issue 14 in Chromium (the service-side items): opt-outs across channels (STOP/START on
WhatsApp, driven through the simulator and the public API), accent- and digit-insensitive search,
Disable asks first, plain-word number labels, the messaging limit ("N of 250", refusal at 100 %),
live usage, WhatsApp absent for a plan without it, and the styled 404 page."""

from __future__ import annotations

import datetime as dt
import os
import random
import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")


def _shot(page: Page, name: str) -> None:
    """Screenshots at 1400 px and 390 px when CTREFLEX_SHOTS names a folder (looked at by eye)."""
    if not SHOTS:
        return
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def _api_key(
    page: Page, base_url: str, email: str, password: str, name: str, *, signed_in: bool = False
) -> str:
    if not signed_in:  # (the login page sends a signed-in tab away: its button would vanish)
        login(page, base_url, email, password)
    page.goto(base_url + "/admin/api")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("checkbox", name=re.compile(r"^send")).check()
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label(f"New API key: {name}")
    expect(shown).to_be_visible()
    key = shown.input_value()
    page.get_by_role("button", name="I have copied it").click()
    return key


def _customer_writes(base_url: str, wa_id: str, body: str, name: str = "") -> None:
    if name:
        httpx.put(
            f"{base_url}/simulator/control/customers/{wa_id}",
            json={"profile_name": name},
            timeout=10,
        ).raise_for_status()
    payload = {"type": "text", "text": body}
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages", json=payload, timeout=10
    )
    assert r.status_code == 200, r.text


def _marketing(key: str, base_url: str, to: str) -> httpx.Response:
    return httpx.post(
        base_url + "/api/v1/messages",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "to": to,
            "type": "template",
            "template": {
                "name": "weekend_treats_offer",
                "language": "en_US",
                "parameters": {
                    "header.media": "https://demobakery.example.com/box.jpg",
                    "body.1": "Jonas",
                    "body.2": "pretzels",
                    "body.3": "10%",
                    "button.0.url_suffix": "WEEKEND15",
                },
            },
        },
        timeout=30,
    )


def _consent(key: str, base_url: str, e164: str) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    found = httpx.get(
        base_url + "/api/v1/contacts",
        params={"search": e164.lstrip("+")},
        headers=headers,
        timeout=10,
    ).json()["data"]
    contact = next(c for c in found if c["phone"] == e164)
    return httpx.get(
        f"{base_url}/api/v1/contacts/{contact['id']}/opt-out", headers=headers, timeout=10
    ).json()


def _wait(check, timeout: float = 20.0):
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while True:
        value = check()
        if value or dt.datetime.now() > deadline:
            return value
        import time

        time.sleep(0.3)


def test_whatsapp_stop_refuses_marketing_everywhere_and_start_lifts_it(page: Page, base_url):
    key = _api_key(page, base_url, "admin@demo.test", "demo-admin-1", "Opt-out check")
    page.request.post(base_url + "/api/templates/sync")
    wa_id = f"4915199{random.randint(0, 999_999):06d}"
    e164 = "+" + wa_id
    _customer_writes(base_url, wa_id, "Hallo! Habt ihr Brezeln?", "Jonas Weber")
    _customer_writes(base_url, wa_id, "Stopp")  # German, any case: a marketing opt-out

    def opted_out():
        try:
            return _consent(key, base_url, e164)["marketing_opted_out"]
        except (StopIteration, KeyError):
            return False

    assert _wait(opted_out), "STOPP on WhatsApp was not recorded"
    consent = _consent(key, base_url, e164)
    assert consent["sms_opted_out"] is False  # SMS service messages are still allowed
    r = _marketing(key, base_url, e164)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "template" and "opted out of marketing" in r.json()["detail"]

    # the agent sees it in the contact's panel, with the keyword as the source
    page.goto(base_url + "/inbox")
    page.get_by_role("searchbox", name="Search conversations").fill("Jonas")
    page.get_by_role("link", name=conversation_name("Jonas Weber")).first.click()
    page.get_by_role("button", name="Contact details").click()
    ledger = page.locator("#optout-ledger")
    expect(ledger).to_contain_text("Opted out of marketing (WhatsApp)")
    expect(ledger).to_contain_text('WhatsApp keyword "Stopp"')

    _customer_writes(base_url, wa_id, "START")
    assert _wait(lambda: not _consent(key, base_url, e164)["marketing_opted_out"])
    r = _marketing(key, base_url, e164)
    assert r.status_code in (200, 201, 202), r.text
    expect(ledger).to_contain_text("Opted back in to marketing (WhatsApp)")


def test_sms_stop_refuses_whatsapp_marketing(page: Page, base_url):
    """Carlos replied STOP by SMS (seeded): a WhatsApp marketing template is refused too."""
    key = _api_key(page, base_url, "admin@demo.test", "demo-admin-1", "SMS stop check")
    page.request.post(base_url + "/api/templates/sync")
    r = _marketing(key, base_url, "+525512345678")
    assert r.status_code == 422, r.text
    assert "replied STOP by SMS" in r.json()["detail"]


def test_search_ignores_accents_case_and_spaces_in_numbers(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    search = page.get_by_role("searchbox", name="Search conversations")

    def link(name):
        return page.get_by_role("link", name=conversation_name(name)).first

    search.fill("Sofia")
    expect(link("Sofía García")).to_be_visible()
    expect(link("Dev Patel")).to_have_count(0)
    search.fill("chloe")
    expect(link("Chloé Martin")).to_be_visible()
    expect(link("Sofía García")).to_have_count(0)
    search.fill("+34")
    expect(link("Sofía García")).to_be_visible()
    expect(link("Chloé Martin")).to_have_count(0)
    search.fill("612 34")
    expect(link("Sofía García")).to_be_visible()
    expect(link("Chloé Martin")).to_be_visible()
    expect(link("Maria Lopez")).to_have_count(0)


def test_numbers_labels_in_plain_words_and_disable_asks_first(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/numbers")
    table = page.get_by_role("table", name="Business numbers")
    row = table.get_by_role("row").filter(has_text="555-010-0100")
    expect(row).to_contain_text("2,000 customers / 24 h")
    expect(row).to_contain_text("High quality")
    expect(row).to_contain_text("Name approved")
    expect(row).to_contain_text("Connected")
    expect(row).to_contain_text(re.compile(r"\d+ of 2,000 in the last 24 h"))
    for code in ("TIER_2K", "GREEN", "APPROVED", "PENDING_REVIEW"):
        expect(table).not_to_contain_text(code)
    _shot(page, "numbers")

    sms = table.get_by_role("row").filter(has_text="555-010-0150")
    sms.get_by_role("button", name=re.compile(r"^Disable ")).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Disable +1 555-010-0150?")
    _shot(page, "numbers-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(sms).to_contain_text("Connected")  # nothing happened
    sms.get_by_role("button", name=re.compile(r"^Disable ")).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status").first).to_contain_text("is disabled")
    expect(sms).to_contain_text("Disabled")
    sms.get_by_role("button", name=re.compile(r"^Enable ")).click()  # as it was
    expect(sms).to_contain_text("Connected")


def _fill_limit(db_url: str, account: str, count: int, prefix: str) -> None:
    """`count` customers reached by template outside their window, an hour ago (set up in the
    database directly: 250 real sends would only slow the test down)."""
    from sqlmodel import Session, select

    from ctreflex.models import Account, BusinessNumber, Contact, Conversation, Message

    engine = create_engine(db_url)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with Session(engine) as s:
        acc = s.exec(select(Account).where(Account.name == account)).one()
        num = s.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == acc.id, BusinessNumber.channel == "whatsapp"
            )
        ).first()
        for i in range(count):
            contact = Contact(account_id=acc.id, e164=f"{prefix}{i:04d}", name=f"Lead {i}")
            s.add(contact)
            s.flush()
            conv = Conversation(
                account_id=acc.id, contact_id=contact.id, business_number_id=num.id
            )
            s.add(conv)
            s.flush()
            s.add(
                Message(
                    account_id=acc.id,
                    conversation_id=conv.id,
                    business_number_id=num.id,
                    direction="outbound",
                    channel="whatsapp",
                    kind="template",
                    body="Hello",
                    status="delivered",
                    created_at=at,
                )
            )
        s.commit()
    engine.dispose()


def test_messaging_limit_counted_warned_and_refused_at_100(page: Page, base_url, served_app):
    db_url = served_app.env["CTREFLEX_DATABASE_URL"]
    login(page, base_url, "admin@harbor.test", "harbor-admin-1")
    page.goto(base_url + "/numbers")
    row = page.get_by_role("table", name="Business numbers").get_by_role("row").filter(
        has_text="555-010-0300"
    )
    expect(row).to_contain_text(re.compile(r"\d+ of 250 in the last 24 h"))
    used = int(re.search(r"(\d+) of 250 in the last 24 h", row.inner_text()).group(1))
    assert used < 200  # other tests may have reached a few customers already
    _fill_limit(db_url, "Harbor Tools", 200 - used, "+44770091")
    page.reload()
    expect(row).to_contain_text("200 of 250 in the last 24 h")
    expect(row).to_contain_text("Over 80 % of the limit")
    _fill_limit(db_url, "Harbor Tools", 50, "+44770092")
    page.reload()
    expect(row).to_contain_text("250 of 250 in the last 24 h")
    expect(row).to_contain_text("Limit reached: templates to new customers are refused")
    _shot(page, "numbers-limit")

    # a template to a customer who never wrote is refused before any Graph call
    key = _api_key(
        page, base_url, "admin@harbor.test", "harbor-admin-1", "Limit check", signed_in=True
    )
    page.request.post(base_url + "/api/templates/sync")
    templates = httpx.get(
        base_url + "/api/v1/templates", headers={"Authorization": f"Bearer {key}"}, timeout=10
    ).json()["data"]
    approved = [t for t in templates if t["status"] == "APPROVED" and t["category"] == "UTILITY"]
    if not approved:
        pytest.skip("Harbor Tools has no approved utility template in the simulator")
    tpl = approved[0]
    r = httpx.post(
        base_url + "/api/v1/messages",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "to": "+447700930001",
            "type": "template",
            "template": {
                "name": tpl["name"],
                "language": tpl["language"],
                "parameters": {
                    p["key"]: p["example"] or "x" for p in tpl.get("parameters", [])
                },
            },
        },
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "number"
    assert "250 of 250 in the last 24 h" in r.json()["detail"]
    assert "frees up at" in r.json()["detail"]


def test_usage_shows_today_live_without_recompute(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/usage")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page.get_by_label("From", exact=True).fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Show").click()
    total = page.locator("#usage-total-messages")
    expect(total).to_be_visible()
    page.wait_for_timeout(500)
    before = int(re.sub(r"\D", "", total.inner_text()) or 0)
    # new customers (the seeded ones' unread counts belong to other tests)
    for _ in range(3):
        _customer_writes(base_url, f"4915177{random.randint(0, 999_999):06d}", "live usage")
    for _ in range(40):
        page.get_by_role("button", name="Show").click()
        page.wait_for_timeout(500)
        if int(re.sub(r"\D", "", total.inner_text()) or 0) >= before + 3:
            break
    assert int(re.sub(r"\D", "", total.inner_text()) or 0) >= before + 3
    expect(page.get_by_text(re.compile("today live"))).to_be_visible()
    _shot(page, "usage")


def test_no_whatsapp_plan_has_no_templates_menu_and_says_why(page: Page, base_url):
    login(page, base_url, "admin@florist.test", "florist-admin-1")
    nav = page.get_by_role("navigation").first
    expect(nav.get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav.get_by_role("link", name="Templates")).to_have_count(0)
    page.goto(base_url + "/templates")
    expect(page.locator("#whatsapp-unavailable")).to_contain_text("does not include WhatsApp")
    expect(page.get_by_role("button", name="Sync templates")).to_have_count(0)
    _shot(page, "templates-no-whatsapp")


def test_404_page_is_styled_with_a_way_back(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.goto(base_url + "/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    back = page.get_by_role("link", name="Back to the inbox")
    expect(back).to_be_visible()
    _shot(page, "not-found")
    back.click()
    page.wait_for_url("**/inbox**")
