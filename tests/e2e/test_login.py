"""Signing in, navigation by role, refusals and logout, in Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import conversation_name, login

pytestmark = pytest.mark.browser

ALL_NAV = ["Inbox", "Templates", "Numbers", "Usage", "Admin"]


def nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def test_admin_sees_every_section(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    for name in ALL_NAV:
        expect(nav(page).get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("#account-name")).to_have_text("Demo Bakery")
    expect(page.locator("#plan-badge")).to_have_text("Professional")
    expect(page.get_by_role("link", name=conversation_name("Maria Lopez")).first).to_be_visible()
    nav(page).get_by_role("link", name="Numbers").click()
    expect(page.get_by_role("table", name="Business numbers")).to_contain_text("Demo Bakery")


def test_agent_sees_inbox_and_templates_only_and_is_refused_admin_urls(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    expect(nav(page).get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Templates")).to_be_visible()
    for name in ("Numbers", "Usage", "Admin"):
        expect(nav(page).get_by_role("link", name=name)).to_have_count(0)
    for path in ("/numbers", "/usage", "/admin"):
        page.goto(base_url + path)
        page.wait_for_url("**/inbox**", timeout=15_000)  # admin pages send an agent back
        expect(page.get_by_text("That page is for admins of the account.").first).to_be_visible()
        expect(page.get_by_role("table")).to_have_count(0)
    response = page.request.get(base_url + "/api/admin/users")
    assert response.status == 403


def test_wrong_password_shows_one_generic_message(page: Page, base_url):
    page.goto(base_url + "/login")
    page.get_by_label("E-mail").fill("admin@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That e-mail and password do not match an active account."
    )
    page.get_by_label("E-mail").fill("nobody@demo.test")
    page.get_by_label("Password").fill("whatever")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That e-mail and password do not match an active account."
    )
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_empty_fields_get_validation_messages(page: Page, base_url):
    page.goto(base_url + "/login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter your e-mail address.")).to_be_visible()
    expect(page.get_by_text("Enter your password.")).to_be_visible()


def test_logout_ends_the_session(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    page.wait_for_url("**/login**")
    page.goto(base_url + "/inbox")
    page.wait_for_url("**/login**", timeout=15_000)
    assert page.request.get(base_url + "/api/me").status == 401
