"""A tab whose session ended elsewhere gets nothing more: it keeps its websocket (opened with the
old cookie), but its next event (typing in the search box) runs no handler, its states are
cleared and it is sent to the login page. The same for a user deactivated while signed in.
In Chromium against the served app: run under flock /tmp/e2e.lock."""

from __future__ import annotations

import contextlib
import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import create_engine, delete
from sqlmodel import Session, select

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

# strings that only conversation rows of Demo Bakery carry
ROW_TEXT = ("Maria Lopez", "Dev Patel", "Aiko Tanaka", "Oliver Hughes")


class Frames:
    """Every websocket frame a page receives, from a chosen moment on."""

    def __init__(self, page: Page):
        self.recording = False
        self.received: list[str] = []
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if self.recording:
            self.received.append(payload if isinstance(payload, str) else payload.decode())

    def leaks(self) -> list[str]:
        return [f[:200] for f in self.received if any(text in f for text in ROW_TEXT)]


def _signed_in_inbox(context: BrowserContext, base_url: str, email: str, password: str):
    page = context.new_page()
    frames = Frames(page)
    login(page, base_url, email, password)
    expect(page.get_by_role("link", name=conversation_name("Maria Lopez")).first).to_be_visible()
    page.wait_for_timeout(1500)  # the page's start-up events (heartbeat, listener) settle
    return page, frames


def _search_gets_nothing(page: Page, frames: Frames) -> None:
    frames.recording = True
    # (an earlier event of the tab, a heartbeat, may have been answered the same way already)
    with contextlib.suppress(PlaywrightTimeoutError):
        page.get_by_label("Search conversations").fill("Maria", timeout=5_000)
    try:
        page.wait_for_url(re.compile(r"/login/?$"), timeout=15_000)
    except Exception:
        print("still at", page.url, "after frames:", [f[:400] for f in frames.received])
        raise
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#conversation-list")).to_have_count(0)
    page.wait_for_timeout(1000)  # anything still in flight would have arrived by now
    assert frames.received, "the tab's event was not answered at all"
    assert frames.leaks() == [], [f[:160] for f in frames.received]


def test_a_tab_logged_out_in_another_tab_receives_nothing(browser, served_app):
    context = browser.new_context()
    try:
        first, frames = _signed_in_inbox(
            context, served_app.url, "agent@demo.test", "demo-agent-1"
        )
        second = context.new_page()
        second.goto(served_app.url + "/inbox")
        second_rows = second.get_by_role("link", name=conversation_name("Maria Lopez"))
        expect(second_rows.first).to_be_visible()  # hydrated: the menu answers clicks
        second.get_by_role("button", name="Account menu").click()
        second.get_by_role("menuitem", name="Log out").click()
        second.wait_for_url(re.compile(r"/login/?$"))
        # the first tab still shows its rows and still has its websocket
        maria = first.get_by_role("link", name=conversation_name("Maria Lopez")).first
        expect(maria).to_be_visible()
        _search_gets_nothing(first, frames)
        # going back does not bring the rows back either
        first.goto(served_app.url + "/inbox")
        first.wait_for_url(re.compile(r"/login/?$"), timeout=15_000)
        assert frames.leaks() == []
    finally:
        context.close()


def test_a_logged_out_tab_reused_by_the_api_logout_gets_nothing(browser, served_app):
    """Logout through the route itself (as a script or another device would), tab untouched."""
    context = browser.new_context()
    try:
        first, frames = _signed_in_inbox(
            context, served_app.url, "admin@demo.test", "demo-admin-1"
        )
        response = context.request.post(served_app.url + "/auth/logout", max_redirects=0)
        assert response.status == 303
        _search_gets_nothing(first, frames)
    finally:
        context.close()


def test_a_deactivated_users_tab_receives_nothing(browser, served_app):
    from ctreflex.models import Account, AuthSession, User
    from ctreflex.services.auth import hash_password

    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    email, password = f"temp-{uuid.uuid4().hex[:8]}@demo.test", "Temp-agent-pass-91"
    with Session(engine) as session:
        demo = session.exec(select(Account).where(Account.name == "Demo Bakery")).one()
        session.add(
            User(
                account_id=demo.id,
                email=email,
                name="Temp Agent",
                role="agent",
                password_hash=hash_password(password),
            )
        )
        session.commit()
    context = browser.new_context()
    try:
        first, frames = _signed_in_inbox(context, served_app.url, email, password)
        with Session(engine) as session:  # only the flag: its sessions are not revoked
            user = session.exec(select(User).where(User.email == email)).one()
            user.active = False
            session.add(user)
            session.commit()
        _search_gets_nothing(first, frames)
    finally:
        context.close()
        with Session(engine) as session:  # leave the shared app's users as they were
            user = session.exec(select(User).where(User.email == email)).one()
            session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
            session.delete(user)
            session.commit()
        engine.dispose()
