"""Issue 14 items 4 and 11 in Chromium: reactions both ways (the customer's is one badge, the
agent reacts from the bubble and the simulator receives it), and new-message alerts for a tab in
the background (title count, the opt-in sound and desktop notification, and a message arriving
in the open conversation of a hidden tab stays unread until the agent comes back)."""

from __future__ import annotations

import random
import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser


def _new_customer() -> str:
    return f"1416555{random.randint(1000, 9999)}"  # Canada: a number nobody else uses


def _customer(base_url: str, wa_id: str, payload: dict, name: str = "") -> str:
    if name:
        httpx.put(
            f"{base_url}/simulator/control/customers/{wa_id}",
            json={"profile_name": name},
            timeout=10,
        ).raise_for_status()
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages", json=payload, timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()["wamid"]


def _outbox(base_url: str, wa_id: str) -> list[dict]:
    r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=10)
    return [o["request"] for o in r.json()["messages"]]


def _wait(check, timeout: float = 15.0):
    """Poll `check` until it returns a truthy value (Playwright's expect polls only locators)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout} s: {check.__doc__ or check}")
        time.sleep(0.2)


def _unread_in_title(page: Page) -> int:
    m = re.match(r"^\((\d+)\) ", page.title())
    return int(m.group(1)) if m else 0


def test_reactions_both_ways(page: Page, base_url):
    wa_id = _new_customer()
    name = f"Reacting {wa_id[-4:]}"
    _customer(base_url, wa_id, {"type": "text", "text": "Is the rye bread in?"}, name)
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("link", name=conversation_name(name)).first.click()
    thread = page.locator("#thread")
    expect(thread.get_by_text("Is the rye bread in?")).to_be_visible()

    # the agent reacts to the customer's message
    bubble = page.locator(".ct-msg", has_text="Is the rye bread in?")
    bubble.hover()
    bubble.get_by_role("button", name="React").click()
    page.get_by_role("button", name="React 👍").click()
    expect(bubble.get_by_role("img", name="You reacted 👍")).to_be_visible()
    _wait(
        lambda: (
            [
                r.get("reaction", {}).get("emoji")
                for r in _outbox(base_url, wa_id)
                if r.get("type") == "reaction"
            ]
            == ["👍"]
        )
    )

    # the agent replies; the customer reacts to the reply: one badge, no second bubble
    page.get_by_role("textbox", name=re.compile("Message")).first.fill("Yes, fresh at 7!")
    page.get_by_role("button", name=re.compile("^Send")).first.click()
    expect(thread.get_by_text("Yes, fresh at 7!")).to_be_visible()

    def reply_wamid() -> str:
        r = httpx.get(f"{base_url}/simulator/control/outbox", params={"to": wa_id}, timeout=10)
        texts = [m for m in r.json()["messages"] if m["request"].get("type") == "text"]
        return texts[-1]["wamid"] if texts else ""

    wamid = _wait(reply_wamid)
    _customer(base_url, wa_id, {"type": "reaction", "emoji": "🙏", "reaction_to": wamid})
    reply = page.locator(".ct-msg", has_text="Yes, fresh at 7!")
    expect(reply.get_by_role("img", name="Customer reacted 🙏")).to_be_visible()
    expect(thread.locator(".ct-msg", has_text="🙏")).to_have_count(1)


def test_background_tab_title_count_and_opt_in_alerts(page: Page, base_url):
    page.context.grant_permissions(["notifications"], origin=base_url)
    scripts: list[str] = []  # the alert scripts the server sends this tab
    page.on("websocket", lambda ws: ws.on(
        "framereceived",
        lambda p: scripts.append(p) if isinstance(p, str) and "newMessages" in p else None,
    ))
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    expect(page).to_have_title(re.compile(r"Inbox · CT Text$"))
    # record desktop notifications instead of showing them
    page.evaluate(
        """() => {
          window.__shown = [];
          const Real = window.Notification;
          window.Notification = function (title, opts) { window.__shown.push([title, opts.body]);
                                                         return {close() {}}; };
          window.Notification.permission = Real.permission;
          window.Notification.requestPermission = () => Promise.resolve('granted');
        }"""
    )
    page.get_by_role("button", name="Alerts").click()
    page.get_by_role("checkbox", name=re.compile("^Play a sound")).check()
    page.get_by_role("checkbox", name=re.compile("^Show desktop notifications")).check()
    expect(
        page.get_by_role("checkbox", name=re.compile("^Show desktop notifications"))
    ).to_be_checked()
    page.keyboard.press("Escape")

    # the agent is looking at the inbox: the list and the title change, no alert is sent
    before = _unread_in_title(page)
    first = _new_customer()
    _customer(base_url, first, {"type": "text", "text": "Hello there"}, f"Front {first[-4:]}")
    _wait(lambda: _unread_in_title(page) == before + 1)
    page.wait_for_timeout(300)  # an alert would come with the list's update
    assert scripts == []

    # the window loses focus (another application in front): the next message is announced
    page.evaluate("() => { document.hasFocus = () => false; dispatchEvent(new Event('blur')); }")
    page.wait_for_timeout(500)  # the tab's report ("away") reaches the server
    wa_id = _new_customer()
    name = f"Background {wa_id[-4:]}"
    _customer(base_url, wa_id, {"type": "text", "text": "Are you open on Sunday?"}, name)
    _wait(lambda: _unread_in_title(page) == before + 2)
    _wait(lambda: page.evaluate("window.ctAlerts.announced") > 0)
    shown = page.evaluate("window.__shown")
    assert [name, "Are you open on Sunday?"] in shown
    assert len(scripts) == 1


def test_hidden_tab_keeps_the_open_conversation_unread(page: Page, base_url):
    wa_id = _new_customer()
    name = f"Hidden {wa_id[-4:]}"
    _customer(base_url, wa_id, {"type": "text", "text": "First question"}, name)
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("link", name=conversation_name(name)).first.click()
    expect(page.locator("#thread").get_by_text("First question")).to_be_visible()
    expect(page).to_have_title(re.compile(f"{name} · CT Text$"))
    before = _unread_in_title(page)

    def visibility(hidden: bool) -> None:
        page.evaluate(
            """(hidden) => {
              Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
              document.dispatchEvent(new Event('visibilitychange'));
            }""",
            hidden,
        )

    visibility(True)
    page.wait_for_timeout(500)  # the server hears of it
    _customer(base_url, wa_id, {"type": "text", "text": "Second question"})
    expect(page.locator("#thread").get_by_text("Second question")).to_be_visible()
    _wait(lambda: _unread_in_title(page) == before + 1)
    visibility(False)
    _wait(lambda: _unread_in_title(page) == before)


def test_a_conversation_moving_to_the_top_keeps_the_agents_focus_on_its_row(page: Page, base_url):
    """The list's rows are keyed by conversation: when a message moves a conversation to the
    top, the row the agent has focused still is the conversation it was (keyed by position,
    the focused row would show the neighbour that slid into its place, and Enter opens it)."""
    names = {}
    for tag in ("Oldest", "Middle", "Newest"):  # written in this order: Newest on top
        wa_id = _new_customer()
        names[tag] = (wa_id, f"{tag} {wa_id[-4:]}")
        _customer(base_url, wa_id, {"type": "text", "text": f"{tag} question"}, names[tag][1])
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    middle_name = names["Middle"][1]
    middle = page.get_by_role("link", name=conversation_name(middle_name)).first
    middle.focus()
    expect(middle).to_be_focused()

    oldest_id, oldest = names["Oldest"]
    _customer(base_url, oldest_id, {"type": "text", "text": "One more thing"})
    first_row = page.locator(".ct-conv-item").first
    expect(first_row).to_contain_text(oldest)  # it moved to the top, live
    expect(first_row).to_contain_text("One more thing")
    expect(page.get_by_role("link", name=conversation_name(middle_name)).first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(re.escape(middle_name) + " · CT Text$"))


# what changed inside the list's rows, other than in the row of `name` (and other than the
# window countdowns' own minute ticks, assets/inbox.js)
_WATCH_OTHER_ROWS = """name => {
  window.ctOtherRowChanges = [];
  const ul = document.querySelector('ul[aria-label="Conversations"]');
  new MutationObserver(changes => {
    for (const m of changes) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      const row = el && el.closest('.ct-conv-item');
      if (!row || row.textContent.includes(name) || el.closest('[data-ct-expires]')) continue;
      window.ctOtherRowChanges.push(
        m.type + ' ' + (m.attributeName || '') + ' of ' + el.tagName + ' in ' +
        row.textContent.slice(0, 30));
    }
  }).observe(ul, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def test_a_live_message_redraws_its_own_row_and_leaves_the_others_alone(page: Page, base_url):
    """Every agent's tab gets every message of the account: the browser must redraw the row
    the message is about, not the list. Each row's content and tick are memoised components
    with plain props, so React leaves an unchanged row's DOM alone (before: React re-set the
    type and name of every row's tick on every message)."""
    quiet, busy = _new_customer(), _new_customer()
    quiet_name, busy_name = f"Quiet {quiet[-4:]}", f"Busy {busy[-4:]}"
    _customer(base_url, busy, {"type": "text", "text": "A first question"}, busy_name)
    _customer(base_url, quiet, {"type": "text", "text": "Another question"}, quiet_name)
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    first_row = page.locator(".ct-conv-item").first
    expect(first_row).to_contain_text(quiet_name)
    page.evaluate(_WATCH_OTHER_ROWS, busy_name)

    _customer(base_url, busy, {"type": "text", "text": "And a follow-up"})
    expect(first_row).to_contain_text(busy_name)  # it moved to the top, live
    expect(first_row).to_contain_text("And a follow-up")
    page.wait_for_timeout(500)  # anything else the update does has landed
    assert page.evaluate("window.ctOtherRowChanges") == []
    expect(page.locator(".ct-conv-item").nth(1)).to_contain_text(quiet_name)
