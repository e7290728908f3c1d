"""Usage page in Chromium: messages in a day give the fee, the CSV equals the table; users and
jobs pages work."""

import csv
import datetime as dt
import io

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import add_operator, login

pytestmark = pytest.mark.browser


def _table_rows(page: Page, name: str) -> list[list[str]]:
    table = page.get_by_role("table", name=name)
    rows = []
    for row in table.locator("tbody tr").all():
        rows.append([c.inner_text().strip() for c in row.locator("th, td").all()])
    return rows


def test_usage_page_and_csv_agree(page: Page, base_url):
    # two customers write: two inbound WhatsApp messages today
    for wa_id in ("15550100142", "15550100177"):
        r = httpx.post(
            f"{base_url}/simulator/control/customers/{wa_id}/messages",
            json={"type": "text", "text": "usage check"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/usage")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page.get_by_label("From", exact=True).fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Show").click()
    page.get_by_role("button", name="Recompute the figures for this range").click()
    expect(page.get_by_role("status")).to_contain_text("recomputed")
    table = page.get_by_role("table", name="Usage per day, channel and number")
    expect(table).to_contain_text(today)
    shown = _table_rows(page, "Usage per day, channel and number")
    wa = [r for r in shown if r[1] == "WhatsApp"]
    assert wa and int(wa[0][3]) >= 2
    assert wa[0][5] == f"0.{int(wa[0][3]) + int(wa[0][4]):02d}"  # 1 cent each, Professional

    response = page.request.get(f"{base_url}/api/admin/usage.csv?start={today}&end={today}")
    assert response.status == 200
    parsed = list(csv.reader(io.StringIO(response.text())))
    assert parsed[0][0] == "date"
    as_page = [
        [
            r[0],
            "WhatsApp" if r[1] == "whatsapp" else "SMS",
            r[2],
            r[3],
            r[4],
            r[5],
            r[7],
            r[8],
            r[9],
        ]
        for r in parsed[1:]
    ]
    assert as_page == shown
    expect(page.get_by_role("link", name="Export CSV of this range")).to_have_attribute(
        "href", f"/api/admin/usage.csv?start={today}&end={today}"
    )

    empty = page.request.get(f"{base_url}/api/admin/usage.csv?start=2001-01-01&end=2001-01-02")
    assert empty.text().strip() == ",".join(parsed[0])


def test_jobs_page_runs_a_job_now(page: Page, base_url):
    """A tenant admin: their own account's runs only, no platform job, no second run at once."""
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/admin/jobs")
    table = page.get_by_role("table", name="Your account's jobs")
    row = page.locator("#job-usage_rollup")
    expect(row).to_contain_text("Usage roll-up")
    expect(table).to_contain_text("Template sync")
    for platform_job in ("Window expiry sweep", "Webhook journal replay", "Media retention"):
        expect(page.get_by_role("button", name=f"Run now: {platform_job}")).to_have_count(0)
        expect(page.get_by_text(platform_job, exact=True)).to_have_count(0)
    page.get_by_role("button", name="Run now: Usage roll-up").click()
    expect(page.get_by_role("status")).to_contain_text("Usage roll-up: Your usage")
    expect(row).not_to_contain_text("Never")
    page.get_by_role("button", name="Run now: Usage roll-up").click()
    expect(page.get_by_role("alert")).to_contain_text("Try again in")


def test_the_operator_runs_platform_jobs(page: Page, served_app):
    login(page, served_app.url, *add_operator(served_app))
    page.goto(served_app.url + "/admin/jobs")
    table = page.get_by_role("table", name="Scheduled jobs")
    expect(table).to_contain_text("Window expiry sweep")
    expect(table).to_contain_text("Media retention")
    page.get_by_role("button", name="Run now: Window expiry sweep").click()
    expect(page.get_by_role("status")).to_contain_text("Window expiry sweep:")
    expect(page.locator("#job-window_sweep")).not_to_contain_text("Never")


def test_users_page_adds_and_deactivates_an_agent(page: Page, base_url, browser):
    login(page, base_url, "admin@demo.test", "demo-admin-1")
    page.goto(base_url + "/admin/users")
    expect(page.get_by_role("table", name="Users")).to_contain_text("former@demo.test")
    page.get_by_role("button", name="Add user").click()
    page.get_by_label("Name", exact=True).fill("Temp Helper")
    page.get_by_label("E-mail", exact=True).fill("temp@demo.test")
    page.get_by_label("Initial password").fill("violet-kettle-42")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text("can now sign in as an agent")

    other = browser.new_context().new_page()
    login(other, base_url, "temp@demo.test", "violet-kettle-42")
    assert other.request.get(base_url + "/api/me").status == 200

    page.get_by_role("button", name="Deactivate temp@demo.test").click()
    expect(page.get_by_role("status")).to_contain_text("signed out everywhere")
    assert other.request.get(base_url + "/api/me").status == 401
    other.context.close()
