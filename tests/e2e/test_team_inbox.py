"""Issue 15's team inbox in Chromium (team-a's part): two agents of one account in two browser
contexts see an assignment and a bulk resolve live; a short snooze reopens by itself and a
snoozed conversation reopens when the customer writes (via the simulator); the window work
queue lists an unanswered conversation closing within 2 h and drops it once answered (the
reply also assigns it to the replier). Each test writes as a customer of its own.

CTREFLEX_SHOTS=<dir> saves screenshots at 1400 and 390 px."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import add_operator, conversation_name, login

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")


def _customer() -> tuple[str, str]:
    tag = uuid.uuid4().int % 10_000
    return f"1212556{tag:04d}", f"Team {uuid.uuid4().hex[:6]}"


def _write(base_url: str, wa_id: str, name: str, body: str) -> None:
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"profile_name": name, "type": "text", "text": body},
        timeout=15,
    )
    assert r.status_code == 200, r.text


def _row(page: Page, name: str):
    return page.get_by_role("link", name=conversation_name(name)).first


def _item(page: Page, name: str):
    return page.locator("li.ct-conv-item").filter(has=_row(page, name))


def _team(page: Page, name: str):
    """A button of the bar under the thread header (assignee, status)."""
    return page.get_by_role("group", name="Assignment and status").get_by_role(
        "button", name=name, exact=True
    )


def _open(page: Page, name: str) -> None:
    expect(_row(page, name)).to_be_visible(timeout=15_000)
    _row(page, name).click()
    page.wait_for_url(re.compile(r"/inbox/\d+$"))
    expect(page.locator("#thread-title")).to_have_text(name, timeout=15_000)


def _shot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(SHOTS, f"team-{name}-{width}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_assignment_and_bulk_resolve_reach_the_other_agent_live(
    page: Page, browser: Browser, base_url
):
    wa_id, name = _customer()
    _write(base_url, wa_id, name, "Can someone help me with an order?")
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    sam = other.new_page()
    try:
        login(sam, base_url, "agent@demo.test", "demo-agent-1")
        _open(sam, name)
        _open(page, name)
        expect(_team(sam, "Unassigned")).to_be_visible()

        _team(page, "Unassigned").click()
        page.get_by_role("menuitem", name="Assign to Sam Rivers").click()
        expect(_team(page, "Assigned to Sam Rivers")).to_be_visible()

        # Sam's tab, without a reload: the header, the thread line, the list row
        expect(_team(sam, "Assigned to Sam Rivers")).to_be_visible(timeout=15_000)
        log = sam.get_by_role("log", name="Conversation history")
        expect(log).to_contain_text(re.compile(r"Ada Baker assigned this to Sam Rivers, \d\d:\d\d"))
        expect(_item(sam, name)).to_contain_text("Sam Rivers")
        sam.get_by_role("button", name="Mine", exact=True).click()
        expect(_row(sam, name)).to_be_visible()
        _shot(sam, "assigned")

        # Ada ticks it in the list and resolves it from the bulk bar: Sam sees it resolved
        tick = page.get_by_role("checkbox", name=f"Select conversation with {name}")
        tick.click()
        expect(tick).to_be_checked()
        bar = page.get_by_role("toolbar", name="Selected conversations")
        expect(bar).to_contain_text("1 selected")
        _shot(page, "bulk")
        bar.get_by_role("button", name="Resolve").click()
        expect(bar).to_have_count(0)
        expect(_team(sam, "Resolved")).to_be_visible(timeout=15_000)
        expect(log).to_contain_text("Ada Baker resolved this")
        expect(_row(sam, name)).to_have_count(0)  # the Open list no longer has it
    finally:
        other.close()


def _account_zone(served_app) -> ZoneInfo:
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    with engine.begin() as conn:
        tz = conn.execute(
            text("SELECT timezone FROM account WHERE name = 'Demo Bakery'")
        ).scalar_one()
    engine.dispose()
    return ZoneInfo(tz)


def test_snooze_reopens_by_itself_and_when_the_customer_writes(page: Page, served_app):
    base_url = served_app.url
    wa_id, name = _customer()
    _write(base_url, wa_id, name, "I'll send the photos tomorrow")
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    _open(page, name)
    log = page.get_by_role("log", name="Conversation history")

    # a short snooze, picked as a time (seconds allowed), in the account's zone
    _team(page, "Open").click()
    page.get_by_role("menuitem", name="Snooze until a time…").click()
    dialog = page.get_by_role("dialog", name="Snooze until a time")
    ends = dt.datetime.now(_account_zone(served_app)) + dt.timedelta(seconds=12)
    dialog.get_by_label("Snooze until").fill(ends.strftime("%Y-%m-%dT%H:%M:%S"))
    _shot(page, "snooze-dialog")
    dialog.get_by_role("button", name="Snooze").click()
    expect(
        page.get_by_role("group", name="Assignment and status").get_by_role(
            "button", name=re.compile(r"^Snoozed until")
        )
    ).to_be_visible()
    expect(log).to_contain_text("Sam Rivers snoozed this until")
    expect(_row(page, name)).to_have_count(0)  # out of the Open list
    _shot(page, "snoozed")
    expect(_team(page, "Open")).to_be_visible(timeout=30_000)
    expect(_row(page, name)).to_be_visible(timeout=15_000)

    # snoozed for an hour; the customer writes: open again at once, with its line
    _team(page, "Open").click()
    page.get_by_role("menuitem", name="Snooze 1 hour").click()
    expect(
        page.get_by_role("group", name="Assignment and status").get_by_role(
            "button", name=re.compile(r"^Snoozed until")
        )
    ).to_be_visible()
    _write(base_url, wa_id, name, "Here they are!")
    expect(log).to_contain_text("Here they are!", timeout=15_000)
    expect(_team(page, "Open")).to_be_visible(timeout=15_000)
    expect(log).to_contain_text("Reopened: the customer wrote")


def test_window_queue_lists_an_unanswered_conversation_and_drops_it_once_answered(
    page: Page, served_app
):
    base_url = served_app.url
    wa_id, name = _customer()
    _write(base_url, wa_id, name, "Is my cake ready?")
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conv_id = _conversation_of(engine, wa_id)
    with engine.begin() as conn:  # the customer wrote 23 h ago: the window closes in 1 h
        conn.execute(
            text("UPDATE message SET created_at = :at WHERE conversation_id = :id; ").bindparams(
                at=now - dt.timedelta(hours=23), id=conv_id
            )
        )
        conn.execute(
            text(
                "UPDATE conversation SET last_inbound_at = :at, last_message_at = :at, "
                "window_expires_at = :exp WHERE id = :id"
            ),
            {"at": now - dt.timedelta(hours=23), "exp": now + dt.timedelta(hours=1), "id": conv_id},
        )
    engine.dispose()

    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("button", name="Window queue").click()
    expect(_row(page, name)).to_be_visible(timeout=15_000)
    expect(_item(page, name)).to_contain_text("Unassigned")
    expect(page.locator("#queue-hours")).to_contain_text("Closing within 2 h")
    _shot(page, "queue")

    _open(page, name)
    box = page.get_by_role("textbox", name="Message")
    box.fill("Yes, it's ready for pickup!")
    box.press("Enter")
    log = page.get_by_role("log", name="Conversation history")
    expect(log).to_contain_text("Yes, it's ready for pickup!")
    # answered: out of the queue; and the reply assigned it to Sam (auto-assign on reply)
    expect(_row(page, name)).to_have_count(0, timeout=15_000)
    expect(log).to_contain_text("Sam Rivers replied and took this conversation")
    expect(_team(page, "Assigned to Sam Rivers")).to_be_visible()
    _shot(page, "answered")


def _conversation_of(engine, wa_id: str) -> int:
    for _ in range(60):  # the webhook is processed in the background
        with engine.begin() as conn:
            conv_id = conn.execute(
                text(
                    "SELECT conversation.id FROM conversation JOIN contact "
                    "ON contact.id = conversation.contact_id WHERE contact.wa_id = :w"
                ),
                {"w": wa_id},
            ).scalar()
        if conv_id:
            return conv_id
        time.sleep(0.25)
    raise AssertionError(f"no conversation for {wa_id}")


def _run_team_sweep(browser: Browser, served_app) -> None:
    """The operator's "Run now" of the snoozes-and-reminders job (the scheduler runs it every
    minute; a run of the scheduler in the last 30 s makes the manual one wait its turn)."""
    context = browser.new_context()
    try:
        ops = context.new_page()
        login(ops, served_app.url, *add_operator(served_app))
        deadline = time.monotonic() + 75
        while True:
            r = ops.request.post(served_app.url + "/api/admin/jobs/team_sweep/run")
            if r.status != 429 or time.monotonic() > deadline:
                break
            time.sleep(min(int(r.headers.get("retry-after", "5")), 10))
        assert r.ok, r.text()
    finally:
        context.close()


def test_window_reminder_reaches_the_assignee_live_an_hour_before_the_window_closes(
    page: Page, browser: Browser, served_app
):
    """An opted-in assignee gets the T-60 reminder in their open inbox, live, with a link to
    the conversation, and can dismiss it."""
    base_url = served_app.url
    wa_id, name = _customer()
    _write(base_url, wa_id, name, "Can you hold a birthday cake for Saturday?")
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    conv_id = _conversation_of(engine, wa_id)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with engine.begin() as conn:  # assigned to Sam; the customer wrote 23 h 10 min ago
        sam = conn.execute(
            text("SELECT id FROM \"user\" WHERE email = 'agent@demo.test'")
        ).scalar_one()
        wrote = now - dt.timedelta(hours=23, minutes=10)
        conn.execute(
            text("UPDATE message SET created_at = :at WHERE conversation_id = :id").bindparams(
                at=wrote, id=conv_id
            )
        )
        conn.execute(
            text(
                "UPDATE conversation SET last_inbound_at = :at, last_message_at = :at, "
                "window_expires_at = :exp, assignee_id = :sam, reminded_for = NULL "
                "WHERE id = :id"
            ),
            {"at": wrote, "exp": wrote + dt.timedelta(hours=24), "sam": sam, "id": conv_id},
        )
    engine.dispose()

    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("button", name="Inbox settings").click()
    remind = page.get_by_role("switch", name=re.compile("Remind me 60 min before a window"))
    if remind.get_attribute("aria-checked") != "true":
        remind.click()
    expect(remind).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Escape")

    _run_team_sweep(browser, served_app)
    notices = page.get_by_role("status", name="Reminders")
    notice = notices.locator(".ct-reminder").filter(has_text=name)
    expect(notice).to_be_visible(timeout=20_000)  # live: the page was not reloaded
    expect(notice).to_contain_text("Window closing")
    expect(notice).to_contain_text(re.compile(r"closes in (4\d|5\d) min"))
    _shot(page, "reminder")
    notice.get_by_role("link", name="Open conversation").click()
    page.wait_for_url(re.compile(rf"/inbox/{conv_id}$"))
    expect(page.locator("#thread-title")).to_have_text(name, timeout=15_000)
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_have_count(0)

    page.get_by_role("button", name="Inbox settings").click()  # leave Sam as seeded
    remind.click()
    expect(remind).to_have_attribute("aria-checked", "false")
