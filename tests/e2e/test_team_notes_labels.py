"""Issue 15 in Chromium (notes, mentions, canned replies, labels) with two agents of one
account in two browser contexts: a note with an @mention reaches the mentioned agent's
Mentions view live and never reaches the simulator's outbox; `/hours` expands with the
contact's first name; a label filters the list. Screenshots at 1400 / 390 px with
CTREFLEX_SHOTS=<folder>."""

from __future__ import annotations

import os
import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")


def _shot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png")
    page.set_viewport_size({"width": 1400, "height": 900})


def _customer(base_url: str, first: str) -> tuple[str, str]:
    """A customer the app has never seen writes to Demo Bakery; (wa_id, full name)."""
    tag = uuid.uuid4().int % 10_000
    wa_id, name = f"1646555{tag:04d}", f"{first} Q{uuid.uuid4().hex[:5]}"
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"profile_name": name, "type": "text", "text": "What are your opening hours?"},
        timeout=15,
    )
    assert r.status_code == 200, r.text
    return wa_id, name


def _outbox(base_url: str, wa_id: str) -> list[dict]:
    r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=15)
    return r.json()["messages"]


def _second_agent(db_url: str) -> tuple[str, str, str]:
    """A second agent of Demo Bakery, made for this test: (email, password, name)."""
    from sqlmodel import Session, select

    from ctreflex.models import Account, User
    from ctreflex.services.auth import hash_password

    tag = uuid.uuid4().hex[:5]
    email, password, name = f"bea-{tag}@demo.test", "bea-pass-7341", f"Bea Quill{tag}"
    engine = create_engine(db_url)
    with Session(engine) as s:
        acc = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
        s.add(
            User(
                account_id=acc.id,
                email=email,
                name=name,
                password_hash=hash_password(password),
                role="agent",
            )
        )
        s.commit()
    engine.dispose()
    return email, password, name


def _open(page: Page, name: str) -> None:
    page.get_by_role("link", name=conversation_name(name)).first.click()
    page.wait_for_url(re.compile(r"/inbox/\d+$"))
    expect(page.locator("#thread-title")).to_have_text(name)


def test_note_mention_reaches_the_colleague_live_and_never_the_customer(
    browser: Browser, base_url, served_app
):
    wa_id, customer = _customer(base_url, "Nora")
    email, password, bea = _second_agent(served_app.env["CTREFLEX_DATABASE_URL"])
    sam_ctx, bea_ctx = browser.new_context(), browser.new_context()
    try:
        sam, other = sam_ctx.new_page(), bea_ctx.new_page()
        login(sam, base_url, "agent@demo.test", "demo-agent-1")
        login(other, base_url, email, password)
        mentions = other.get_by_role("button", name=re.compile(r"^Mentions"))
        expect(mentions).to_have_attribute("aria-pressed", "false")

        _open(sam, customer)
        sam.get_by_role("radio", name="Note").click()
        box = sam.get_by_role("textbox", name="Message")
        expect(sam.locator("#composer")).to_have_class(re.compile("ct-composer-note"))
        box.press_sequentially("@Bea", delay=30)
        option = sam.get_by_role("option", name=re.compile(f"@{bea}"))
        expect(option).to_be_visible()
        expect(option).to_have_attribute("aria-selected", "true")
        box.press("Enter")  # chooses the colleague; sends nothing
        expect(box).to_have_value(f"@{bea} ")
        box.press_sequentially("please call her back about Saturday", delay=5)
        _shot(sam, "team-note-draft")
        sam.get_by_role("button", name="Add note").click()
        thread = sam.get_by_role("log", name="Conversation history")
        note = thread.get_by_role("note", name=re.compile("^Internal note by Sam"))
        expect(note).to_contain_text(f"@{bea} please call her back about Saturday")
        expect(note).to_contain_text("Internal note")
        expect(box).to_have_value("")
        _shot(sam, "team-note-thread")

        # the colleague: Mentions shows 1 unread without a reload, then the conversation
        expect(mentions).to_contain_text("1 unread", timeout=15_000)
        mentions.click()
        expect(mentions).to_have_attribute("aria-pressed", "true")
        rows = other.get_by_role("list", name="Conversations").get_by_role("link")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_accessible_name(conversation_name(customer))
        _shot(other, "team-mentions-view")
        rows.first.click()
        expect(other.get_by_role("note")).to_contain_text("please call her back")
        expect(mentions).not_to_contain_text("unread")

        # never sent: nothing reached the simulator for this customer
        assert [m for m in _outbox(base_url, wa_id) if "Saturday" in str(m["request"])] == []
        # a submitted note while in Note mode never goes through the send path, even by Enter
        box.press_sequentially("second note, by Enter", delay=5)
        box.press("Enter")
        expect(thread.get_by_role("note")).to_have_count(2)
        assert [m for m in _outbox(base_url, wa_id) if "second note" in str(m["request"])] == []
        # notes, team lines and messages each keep their own element id (links go to them)
        ids = sam.locator("#thread .ct-msg, [role=log] .ct-msg").evaluate_all(
            "els => els.map(e => e.id)"
        )
        assert len(ids) == len(set(ids)), ids
        assert sum(i.startswith("note-") for i in ids) == 2, ids
    finally:
        sam_ctx.close()
        bea_ctx.close()


def test_canned_reply_and_label_filter(browser: Browser, base_url):
    wa_id, customer = _customer(base_url, "Olga")
    label = f"VIP {uuid.uuid4().hex[:4]}"
    admin_ctx, agent_ctx = browser.new_context(), browser.new_context()
    try:
        admin, page = admin_ctx.new_page(), agent_ctx.new_page()
        login(admin, base_url, "admin@demo.test", "demo-admin-1")
        admin.goto(base_url + "/admin/replies")
        admin.get_by_role("button", name="New reply").click()
        admin.get_by_label("Shortcut").fill("hours")
        admin.get_by_label("Text").fill(
            "Hi {{first_name}}, we are open 8:00-18:00, Monday to Saturday. {{agent_name}}"
        )
        admin.get_by_role("button", name="Save reply").click()
        expect(admin.get_by_role("status")).to_contain_text("Saved /hours")
        admin.get_by_role("button", name="New reply").click()
        admin.get_by_label("Shortcut").fill("holiday")
        admin.get_by_label("Text").fill("We are closed on 25 December, {{first_name}}.")
        admin.get_by_role("button", name="Save reply").click()
        expect(admin.get_by_role("status")).to_contain_text("Saved /holiday")
        _shot(admin, "team-admin-replies")
        admin.goto(base_url + "/admin/labels")
        admin.get_by_role("button", name="New label").click()
        admin.get_by_label("Name").fill(label)
        admin.get_by_label("Colour").select_option("amber")
        admin.get_by_role("button", name="Save label").click()
        expect(admin.get_by_role("table", name="Labels")).to_contain_text(label)
        _shot(admin, "team-admin-labels")

        login(page, base_url, "agent@demo.test", "demo-agent-1")
        _open(page, customer)
        box = page.get_by_role("textbox", name="Message")
        box.press_sequentially("/ho", delay=40)
        options = page.get_by_role("listbox", name="Canned replies").get_by_role("option")
        expect(options).to_have_count(2)  # /holiday, /hours
        option = page.get_by_role("option", name="/hours")
        expect(options.first).to_have_attribute("aria-selected", "true")
        box.press("ArrowDown")
        expect(option).to_have_attribute("aria-selected", "true")
        _shot(page, "team-canned-list")
        box.press("Enter")  # inserts the chosen one, sends nothing
        expected = "Hi Olga, we are open 8:00-18:00, Monday to Saturday. Sam Rivers"
        expect(box).to_have_value(expected)
        box.press("Enter")  # now it is sent
        thread = page.get_by_role("log", name="Conversation history")
        expect(thread).to_contain_text(expected)
        sent = [m for m in _outbox(base_url, wa_id) if m["request"].get("type") == "text"]
        assert sent and sent[-1]["request"]["text"]["body"] == expected

        # a label from the thread header, on the row, and the list filtered by it
        page.get_by_role("button", name="Add label").click()
        page.get_by_role("menuitem", name=label).click()
        header_labels = page.get_by_role("group", name="Labels of this conversation")
        expect(header_labels).to_contain_text(label)
        row = page.get_by_role("link", name=conversation_name(customer))
        expect(row).to_contain_text(label)
        page.get_by_role("combobox", name="Filter by label").click()
        page.get_by_role("option", name=label).click()
        rows = page.get_by_role("list", name="Conversations").get_by_role("link")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_accessible_name(conversation_name(customer))
        _shot(page, "team-label-filter")
        header_labels.get_by_role("button", name=f"Remove label {label}").click()
        expect(header_labels).not_to_contain_text(label)
        expect(page.get_by_role("list", name="Conversations")).to_have_count(0)

        # an admin deletes a canned reply after saying yes
        admin.goto(base_url + "/admin/replies")
        admin.get_by_role("button", name="Delete /holiday").click()
        admin.get_by_role("button", name="Yes, delete /holiday").click()
        table = admin.get_by_role("table", name="Canned replies")
        expect(table).to_contain_text("/hours")
        expect(table).not_to_contain_text("/holiday")
    finally:
        admin_ctx.close()
        agent_ctx.close()
