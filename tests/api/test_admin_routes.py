"""Admin routes: agents and other accounts are refused on the server; the CSV matches."""

import csv
import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from ctreflex import routes
from ctreflex.api import build_api
from ctreflex.inbound import dispatch, journal
from ctreflex.models import Account, User, WebhookEvent
from ctreflex.services import auth, usage
from ctreflex.services.seed import seed_usage_history

ADMIN_GETS = [
    "/api/admin/usage.csv",
    "/api/admin/usage",
    "/api/admin/jobs",
    "/api/admin/events",
    "/api/admin/whatsapp",
    "/api/admin/users",
    "/api/admin/numbers",
]
ADMIN_POSTS = ["/api/admin/jobs/usage_rollup/run"]


def _client(session, email=None, password=None) -> TestClient:
    client = TestClient(build_api())
    if email:
        client.cookies.set(
            routes.SESSION_COOKIE, auth.login(session=session, email=email, password=password)
        )
    return client


@pytest.mark.parametrize("path", ADMIN_GETS + ADMIN_POSTS)
def test_agents_and_strangers_are_refused_every_admin_route(seeded, path):
    method = "post" if path in ADMIN_POSTS else "get"
    agent = _client(seeded, "agent@demo.test", "demo-agent-1")
    assert getattr(agent, method)(path).status_code == 403
    assert getattr(_client(seeded), method)(path).status_code == 401


def test_a_deactivated_admin_is_refused_at_once(seeded):
    client = _client(seeded, "admin@demo.test", "demo-admin-1")
    assert client.get("/api/admin/jobs").status_code == 200
    admin = seeded.exec(select(User).where(User.email == "admin@demo.test")).one()
    admin.active = False
    seeded.add(admin)
    seeded.commit()
    auth.end_sessions_for_user(session=seeded, user_id=admin.id)
    assert client.get("/api/admin/jobs").status_code == 401


def test_usage_csv_matches_the_report_and_an_empty_range_has_only_headers(seeded):
    seed_usage_history(session=seeded)
    bakery = seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    client = _client(seeded, "admin@demo.test", "demo-admin-1")
    today = dt.date.today()
    start = (today - dt.timedelta(days=20)).isoformat()
    end = today.isoformat()
    response = client.get(f"/api/admin/usage.csv?start={start}&end={end}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"usage-{start}-to-{end}.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    rep = usage.report(
        session=seeded,
        account_id=bakery.id,
        start=dt.date.fromisoformat(start),
        end=dt.date.fromisoformat(end),
    )
    assert rows[0] == usage.CSV_HEADER
    assert rows[1:] == [r.csv_cells() for r in rep.rows] and len(rows) > 1
    assert sum(int(r[3]) + int(r[4]) for r in rows[1:]) == rep.total_messages

    empty = client.get("/api/admin/usage.csv?start=2001-01-01&end=2001-01-31")
    assert empty.status_code == 200 and empty.text == ",".join(usage.CSV_HEADER) + "\r\n"

    bad = client.get("/api/admin/usage.csv?start=2026-02-02&end=2026-02-01")
    assert bad.status_code == 422 and "after the end" in bad.json()["detail"]

    harbor = _client(seeded, "admin@harbor.test", "harbor-admin-1")
    theirs = harbor.get(f"/api/admin/usage.csv?start={start}&end={end}")
    assert theirs.text == ",".join(usage.CSV_HEADER) + "\r\n"


def test_run_now_from_any_worker_records_a_manual_run(seeded):
    client = _client(seeded, "admin@demo.test", "demo-admin-1")
    result = client.post("/api/admin/jobs/usage_rollup/run").json()
    assert result["ran"] and result["ok"] and result["message"].startswith("Your usage")
    jobs = {j["id"]: j for j in client.get("/api/admin/jobs").json()}
    assert jobs["usage_rollup"]["last_run"] != "Never"
    # a tenant admin sees their own account's runs, never the platform jobs
    assert set(jobs) == {"usage_rollup", "template_sync"}
    assert {j["scope"] for j in jobs.values()} == {"account"}
    assert client.post("/api/admin/jobs/nope/run").status_code == 404


def test_rejected_webhooks_show_to_the_admins_of_the_number_only(seeded):
    body = (
        b'{"object":"whatsapp_business_account","entry":[{"id":"100000000000002","changes":'
        b'[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":'
        b'{"display_phone_number":"1","phone_number_id":"200000000000011"},"messages":[]}}]}]}'
    )
    event = journal.journal(session=seeded, provider="whatsapp", body=b"{not json")
    dispatch.process_event(session=seeded, event_id=event.id)
    # Harbor's number moved to a plan without WhatsApp: its webhooks are refused
    harbor = seeded.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    harbor.early_access = False
    seeded.add(harbor)
    seeded.commit()
    refused = journal.journal(session=seeded, provider="whatsapp", body=body)
    dispatch.process_event(session=seeded, event_id=refused.id)
    assert seeded.get(WebhookEvent, refused.id).state == "rejected"

    harbor_rows = _client(seeded, "admin@harbor.test", "harbor-admin-1").get("/api/admin/events")
    ids = [e["id"] for e in harbor_rows.json()]
    assert refused.id in ids and event.id not in ids
    assert "early access" in next(e for e in harbor_rows.json() if e["id"] == refused.id)["error"]
    demo_rows = _client(seeded, "admin@demo.test", "demo-admin-1").get("/api/admin/events")
    assert refused.id not in [e["id"] for e in demo_rows.json()]
