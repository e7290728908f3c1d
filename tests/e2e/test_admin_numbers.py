"""Admin flows in Chromium against the in-process simulator: connect a number end to end, the
number cap with its reason, plans without WhatsApp, and agents refused everywhere."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

ADMIN_PAGES = [
    "/numbers",
    "/usage",
    "/admin",
    "/admin/users",
    "/admin/plans",
    "/admin/jobs",
    "/admin/events",
]
ADMIN_ROUTES = [
    "/api/admin/usage.csv",
    "/api/admin/usage",
    "/api/admin/jobs",
    "/api/admin/events",
    "/api/admin/whatsapp",
    "/api/admin/users",
    "/api/admin/numbers",
]


def _code(base_url: str, pnid: str) -> str:
    codes = httpx.get(base_url + "/simulator/control/codes", timeout=10).json()["codes"]
    return codes[pnid]["code"]


def _connect(page: Page, base_url: str, waba: str, token: str, label: str, pnid: str) -> None:
    page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    dialog.get_by_label("WhatsApp Business Account ID").fill(waba)
    dialog.get_by_label("Access token").fill(token)
    dialog.get_by_role("button", name="Find numbers").click()
    dialog.get_by_role("radio", name=label).check()
    dialog.get_by_role("radio", name="SMS").check()
    dialog.get_by_role("button", name="Send code").click()
    expect(dialog.get_by_text("Meta sent a 6-digit code by SMS")).to_be_visible()
    code = _code(base_url, pnid)
    wrong = "000000" if code != "000000" else "111111"
    dialog.get_by_label("Verification code").fill(wrong)
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog.get_by_role("alert")).to_contain_text("wrong or has expired")
    expect(dialog.get_by_role("alert")).to_contain_text("What to do")
    dialog.get_by_label("Verification code").fill(code)
    dialog.get_by_role("button", name="Verify").click()
    dialog.get_by_label("Two-step verification PIN").fill("123456")
    dialog.get_by_role("button", name="Register and enable").click()
    expect(dialog).to_have_count(0, timeout=20_000)


def test_admin_connects_a_new_number_end_to_end(page: Page, base_url):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/numbers")
    expect(page.get_by_role("list", name="Prerequisites")).to_contain_text(
        "Payment method on the WhatsApp account"
    )
    # a token Meta refuses: its reason in plain words, and a way forward
    page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    dialog.get_by_label("WhatsApp Business Account ID").fill("100000000000001")
    dialog.get_by_label("Access token").fill("not-a-valid-token")
    dialog.get_by_role("button", name="Find numbers").click()
    expect(dialog.get_by_role("alert")).to_contain_text("refused the access token")
    dialog.get_by_role("button", name="Cancel").click()

    _connect(
        page,
        base_url,
        "100000000000001",
        "sim-token-demo-bakery",
        re.compile(r"555-010-0199 · Demo Bakery Orders"),
        "200000000000002",
    )
    expect(page.get_by_role("status")).to_contain_text("is connected and enabled for WhatsApp")
    table = page.get_by_role("table", name="Business numbers")
    row = table.get_by_role("row").filter(has_text="Demo Bakery Orders")
    expect(row).to_contain_text("WhatsApp")
    expect(row).to_contain_text("Connected")
    expect(page.locator("#number-cap")).to_have_text("WhatsApp numbers: 2 of 20")
    # the token is never shown again, nor kept in the page
    assert "sim-token-demo-bakery" not in page.content()


def test_a_third_number_on_an_unverified_business_is_refused_with_the_reason(page: Page, base_url):
    # Harbor Tools (not verified) has one number; Meta gets a second one on its WABA
    created = httpx.post(
        base_url + "/simulator/v23.0/100000000000002/phone_numbers",
        headers={"Authorization": "Bearer sim-token-harbor-tools"},
        json={"cc": "1", "phone_number": "5550100301", "verified_name": "Harbor Returns"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    pnid = created.json()["id"]
    login(page, base_url, "admin@harbor.test", "harbor-admin-1")
    page.goto(base_url + "/numbers")
    expect(page.locator("#number-cap")).to_have_text("WhatsApp numbers: 1 of 2")
    _connect(
        page,
        base_url,
        "100000000000002",
        "sim-token-harbor-tools",
        re.compile(r"Harbor Returns"),
        pnid,
    )
    expect(page.locator("#number-cap")).to_have_text("WhatsApp numbers: 2 of 2")
    reason = page.locator("#cap-reason")
    expect(reason).to_contain_text("not verified")
    expect(reason).to_contain_text("Verify your business with Meta to connect up to 20")
    expect(page.get_by_role("button", name="Connect WhatsApp number")).to_be_disabled()


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("admin@florist.test", "florist-admin-1", "does not include WhatsApp"),
        ("admin@northwind.test", "northwind-admin-1", "early access"),
    ],
)
def test_no_whatsapp_channel_without_the_plan_or_early_access(
    page: Page, base_url, email, password, reason
):
    login(page, base_url, email, password)
    page.goto(base_url + "/numbers")
    expect(page.locator("#whatsapp-unavailable")).to_contain_text(reason)
    expect(page.get_by_role("button", name="Connect WhatsApp number")).to_have_count(0)
    page.goto(base_url + "/admin/plans")
    expect(page.locator("#whatsapp-status")).to_contain_text(reason)
    gate = page.request.get(base_url + "/api/admin/whatsapp").json()
    assert gate["allowed"] is False and reason in gate["reason"]


def test_an_agent_cannot_reach_any_admin_page_or_route(page: Page, base_url):
    login(page, base_url, "agent@demo.test", "demo-agent-1")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Numbers", "Usage", "Admin"):
        expect(nav.get_by_role("link", name=name)).to_have_count(0)
    for path in ADMIN_PAGES:
        page.goto(base_url + path)
        page.wait_for_url("**/inbox**", timeout=15_000)  # admin pages send an agent back
        expect(page.get_by_text("That page is for admins of the account.").first).to_be_visible()
        expect(page.get_by_role("table")).to_have_count(0)
        expect(page.get_by_role("navigation", name="Admin")).to_have_count(0)
    for path in ADMIN_ROUTES:
        assert page.request.get(base_url + path).status == 403, path
    assert page.request.post(base_url + "/api/admin/jobs/usage_rollup/run").status == 403
