"""Issue 14, must-show 3: axe-core (4.14, installed into .tools by the Makefile) on every page
as an admin, in the light and the dark theme: no serious or critical violation.

One browser context per theme visits: the login page; the inbox list with its alerts menu and
New conversation dialog; a conversation holding messages of every kind the thread draws (text,
photo, document, template, a failed message, a quote, a reaction) with the contact panel and
its edit form, the reaction picker and the template picker open; a closed-window conversation
with an SMS opt-out; the Templates page and a template's dialog; Numbers with its Connect
dialog and "Disable" confirmation; Usage; every admin page; the 404 page. Each violation is
reported with its rule, the page and the element, so a failure says what to fix."""

from __future__ import annotations

import os
import random
import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text
from sqlmodel import Session

from tests.conftest import ROOT
from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")  # a folder: screenshots to look at, by eye
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# The light pass runs every rule; the dark pass only the rules a theme can change (the DOM is
# the same), which keeps the test cheap.
THEME_RULES = ["color-contrast", "link-in-text-block"]

RUN_AXE = """async ([impacts, rules]) => {
  const options = {resultTypes: ["violations"]};
  if (rules) options.runOnly = {type: "rule", values: rules};
  const result = await axe.run(document, options);
  const out = [];
  for (const v of result.violations) {
    if (!impacts.includes(v.impact)) continue;
    for (const node of v.nodes) {
      const why = (node.any[0] || node.all[0] || node.none[0] || {}).message || "";
      out.push({rule: v.id, impact: v.impact, target: node.target.join(" "),
                html: node.html.slice(0, 160), why: why});
    }
  }
  return out;
}"""


class Audit:
    """Runs axe on the page as it is and keeps every serious or critical node."""

    def __init__(self, theme: str):
        self.theme = theme
        self.found: list[str] = []
        self.scanned: list[str] = []

    def scan(self, page: Page, where: str) -> None:
        assert page.evaluate("typeof window.axe !== 'undefined'"), "axe-core is not loaded"
        if page.locator("[role=dialog], [role=alertdialog]").count():
            page.wait_for_timeout(300)  # the dialog's fade-in: contrast is measured after it
        self.scanned.append(where)
        rules = THEME_RULES if self.theme == "dark" else None
        for v in page.evaluate(RUN_AXE, [list(BLOCKING), rules]):
            self.found.append(
                f"[{self.theme}] {where}: {v['rule']} ({v['impact']}) at {v['target']}"
                f" — {v['why']} — {v['html']}"
            )


# what an admin page shows once its data has arrived (others get a second)
ADMIN_SHOWS = {"/admin/users": "agent@demo.test", "/admin/plans": "Professional"}


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}-1400.png", full_page=True)


def _write(base_url: str, wa_id: str, name: str, **body) -> str:
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"profile_name": name, **body},
        timeout=15,
    )
    assert r.status_code == 200, r.text
    return r.json()["wamid"]


def _api_key(served_app) -> str:
    from ctreflex.services.api_keys import create_key

    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    try:
        with Session(engine) as session:
            account_id = session.exec(
                text("SELECT id FROM account WHERE name = 'Demo Bakery'")
            ).scalar_one()
            return create_key(
                session=session,
                account_id=account_id,
                name=f"axe {uuid.uuid4().hex[:6]}",
                scopes=["send"],
                created_by_id=None,
            ).key
    finally:
        engine.dispose()


def _send(base_url: str, key: str, body: dict) -> dict:
    r = httpx.post(
        base_url + "/api/v1/messages",
        headers={"Authorization": f"Bearer {key}"},
        json=body,
        timeout=30,
    )
    assert r.status_code in (200, 201, 202), r.text
    return r.json()


def _busy_conversation(browser: Browser, served_app) -> str:
    """A new customer's thread with every kind of message; returns the customer's name."""
    base_url = served_app.url
    context = browser.new_context()
    try:  # the picker and the API need the synced templates
        admin = context.new_page()
        login(admin, base_url, "admin@demo.test", "demo-admin-1")
        assert admin.request.post(base_url + "/api/templates/sync").ok
    finally:
        context.close()
    key = _api_key(served_app)
    wa_id = f"1416555{random.randint(0, 9999):04d}"  # Toronto: marketing allowed too
    name = f"Ada Access {uuid.uuid4().hex[:4]}"
    e164 = "+" + wa_id
    _write(base_url, wa_id, name, type="text", text="Hi! Do you have rye bread today?")
    _write(base_url, wa_id, name, type="image", caption="This one, from your window")
    last = _write(base_url, wa_id, name, type="document")
    _stored(served_app, last)  # the window opens when the inbound is processed, not on the POST
    ours = _send(base_url, key, {"to": e164, "type": "text", "text": "Yes, until 6 pm."})
    _send(
        base_url,
        key,
        {
            "to": e164,
            "type": "template",
            "template": {
                "name": "order_ready",
                "language": "en_US",
                "parameters": {
                    "header.text": "#2048",
                    "body.1": "Ada",
                    "body.2": "rye loaf",
                    "body.3": "12 Baker Street",
                },
            },
        },
    )
    faults = f"{base_url}/simulator/control/faults"
    httpx.put(
        faults, json={"force_error_code": 131026, "force_error_async": True, "count": 1},
        timeout=10,
    ).raise_for_status()
    try:
        _send(base_url, key, {"to": e164, "type": "text", "text": "Shall we keep one for you?"})
    finally:
        httpx.put(faults, json={"force_error_code": None, "force_error_async": False}, timeout=10)
    wamid = _provider_id(served_app, ours["id"])
    _write(base_url, wa_id, name, type="text", text="Great, on my way", reply_to=wamid)
    _write(base_url, wa_id, name, type="reaction", reaction_to=wamid, emoji="❤️")
    return name


def _stored(served_app, wamid: str, timeout: float = 30.0) -> None:
    """Waits until the pipeline has stored the customer's message `wamid`."""
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                found = conn.execute(
                    text("SELECT 1 FROM message WHERE provider_message_id = :w"), {"w": wamid}
                ).first()
            if found:
                return
            assert time.monotonic() < deadline, f"inbound {wamid} not stored in {timeout} s"
            time.sleep(0.2)
    finally:
        engine.dispose()


def _provider_id(served_app, message_id: int) -> str:
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT provider_message_id FROM message WHERE id = :id"), {"id": message_id}
            ).scalar_one()
    finally:
        engine.dispose()


def _ready(page: Page, title: str) -> None:
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible(timeout=20_000)
    expect(page.get_by_label("Loading")).to_have_count(0, timeout=20_000)


def _visit(page: Page, base_url: str, path: str, title: str, shows: str | re.Pattern) -> None:
    page.goto(base_url + path)
    _ready(page, title)
    expect(page.locator("main, body").first).to_contain_text(shows, timeout=20_000)


def _audit_theme(browser: Browser, base_url: str, theme: str, name: str) -> Audit:
    audit = Audit(theme)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=theme)
    context.add_init_script(f"window.localStorage.setItem('theme', '{theme}')")
    context.add_init_script(path=AXE)  # (an init script: the app's CSP refuses inline scripts)
    try:
        page = context.new_page()
        page.goto(base_url + "/login")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        on = page.evaluate("t => document.documentElement.classList.contains(t)", theme)
        assert on, f"the page is not in the {theme} theme"
        audit.scan(page, "/login")
        login(page, base_url, "admin@demo.test", "demo-admin-1")

        # inbox list
        conv = page.get_by_role("link", name=re.compile(re.escape(name))).first
        expect(conv).to_be_visible(timeout=20_000)
        audit.scan(page, "/inbox")
        page.get_by_role("button", name="Alerts", exact=True).click()
        expect(page.get_by_role("group", name="Alerts for new messages")).to_be_visible()
        audit.scan(page, "/inbox alerts popover")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="New conversation").click()
        start = page.get_by_role("dialog", name="New conversation")
        expect(start).to_be_visible()
        start.get_by_label("Phone number").fill("+1 416 555 0199")
        audit.scan(page, "/inbox new conversation dialog")
        page.keyboard.press("Escape")
        expect(start).to_have_count(0)

        # a conversation with every kind of message, the contact panel, the template picker
        conv.click()
        page.wait_for_url(re.compile(r"/inbox/\d+"))
        thread = page.get_by_role("log", name="Conversation history")
        expect(thread).to_contain_text("Great, on my way", timeout=20_000)
        expect(thread).to_contain_text("Not delivered", timeout=20_000)
        expect(thread.locator(".ct-reaction")).to_have_count(1, timeout=20_000)
        expect(thread.locator(".ct-doc")).to_have_count(1)
        expect(thread.locator("img.ct-media-img")).to_have_count(1)
        audit.scan(page, "/inbox/<conversation>")
        thread.get_by_role("button", name="React", exact=True).last.click()
        expect(page.get_by_role("group", name="Reactions")).to_be_visible()
        audit.scan(page, "/inbox/<conversation> reaction picker")
        page.keyboard.press("Escape")
        expect(page.get_by_role("group", name="Reactions")).to_have_count(0)
        page.get_by_role("button", name="Choose template").click()
        dialog = page.get_by_role("dialog", name="Choose a template")
        expect(dialog).to_be_visible()
        audit.scan(page, "/inbox/<conversation> template picker")
        dialog.get_by_role("searchbox", name="Search templates").fill("cake")
        dialog.get_by_role("button", name=re.compile("^cake_ready_photo")).first.click()
        expect(dialog.get_by_role("heading", name=re.compile("cake_ready_photo"))).to_be_visible()
        audit.scan(page, "/inbox/<conversation> template form")
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        _shot(page, f"conversation-{theme}")
        details = page.get_by_role("complementary", name="Contact details")
        details.get_by_role("button", name="Edit contact").click()
        expect(details.get_by_role("button", name="Save contact")).to_be_visible()
        audit.scan(page, "/inbox/<conversation> contact edit")
        details.get_by_role("button", name="Cancel").click()

        # a closed window (the composer offers templates only) and an SMS opt-out in the ledger
        page.get_by_role("link", name=conversation_name("Carlos Hernández")).first.click()
        expect(page.get_by_role("heading", level=2, name="Carlos Hernández").first).to_be_visible()
        expect(page.locator("#optout-ledger")).to_be_visible(timeout=20_000)
        audit.scan(page, "/inbox/<closed window, SMS opt-out>")

        _visit(page, base_url, "/templates", "Templates", "order_ready")
        audit.scan(page, "/templates")
        page.get_by_role("button", name=re.compile("order_ready")).first.click()
        expect(page.get_by_role("dialog")).to_be_visible()
        audit.scan(page, "/templates dialog")
        page.keyboard.press("Escape")

        _visit(page, base_url, "/numbers", "Numbers", "+1 555")
        audit.scan(page, "/numbers")
        _shot(page, f"numbers-{theme}")
        page.get_by_role("button", name="Connect WhatsApp number").click()
        connect = page.get_by_role("dialog", name="Connect a WhatsApp number")
        expect(connect).to_be_visible()
        audit.scan(page, "/numbers connect dialog")
        connect.get_by_role("button", name="Cancel").click()
        expect(connect).to_have_count(0)
        disable = page.get_by_role("button", name=re.compile("^Disable"))
        if disable.count():
            disable.first.click()
            expect(page.get_by_role("alertdialog")).to_be_visible()
            audit.scan(page, "/numbers disable confirmation")
            page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()

        _visit(page, base_url, "/usage", "Usage", re.compile(r"\d"))
        audit.scan(page, "/usage")
        # every admin page the admin navigation lists (a page added there is covered too)
        _visit(page, base_url, "/admin", "Admin", "Demo Bakery")
        nav = page.get_by_role("navigation", name="Admin").get_by_role("link")
        paths = nav.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert {"/admin", "/admin/users", "/admin/plans", "/admin/jobs"} <= set(paths), paths
        for path in paths:
            if path != "/admin":
                page.goto(base_url + path)
                # (the last h1: the sidebar's brand is one too)
                expect(page.get_by_role("heading", level=1).last).to_be_visible(timeout=20_000)
                expect(page.get_by_label("Loading")).to_have_count(0, timeout=20_000)
                if path in ADMIN_SHOWS:
                    expect(page.locator("body")).to_contain_text(ADMIN_SHOWS[path])
                else:
                    page.wait_for_timeout(1000)  # its on-load data
            audit.scan(page, path)

        page.goto(base_url + "/no-such-page")
        expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=20_000)
        audit.scan(page, "404")
    finally:
        context.close()
    return audit


def test_no_serious_or_critical_violations_on_any_page_light_and_dark(
    browser: Browser, served_app
):
    assert AXE.is_file(), f"{AXE} is missing: `make test` installs axe-core into .tools"
    name = _busy_conversation(browser, served_app)
    found: list[str] = []
    for theme in ("light", "dark"):
        audit = _audit_theme(browser, served_app.url, theme, name)
        assert len(audit.scanned) >= 22, audit.scanned
        found += audit.found
    assert not found, f"{len(found)} serious/critical axe violations:\n" + "\n".join(found)
