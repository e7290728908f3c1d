"""Platform jobs are the platform operator's (issue 11, item 8): a tenant admin sees and runs only
their own account's runs, never a platform job or a figure about other accounts; "Run now" is
refused while a run is in progress and within the cool-down; the operator sees and runs the
platform jobs; `python -m ctreflex.cli operator-add` creates the operator."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from ctreflex import cli, routes
from ctreflex.api import build_api
from ctreflex.jobs import scheduler
from ctreflex.models import Account, JobRun, User
from ctreflex.services import auth, jobs, users

PLATFORM_ONLY = ["window_sweep", "journal_replay", "media_retention"]
OPERATOR = ("ops@ctt-platform.test", "tall-ferns-at-dusk")


def client_for(session, email: str, password: str) -> TestClient:
    client = TestClient(build_api())
    client.cookies.set(
        routes.SESSION_COOKIE, auth.login(session=session, email=email, password=password)
    )
    return client


def account_id(session, name: str) -> int:
    return session.exec(select(Account.id).where(Account.name == name)).one()


def runs(session, job_id: str | None = None) -> list[JobRun]:
    session.expire_all()
    query = select(JobRun)
    if job_id is not None:
        query = query.where(JobRun.job_id == job_id)
    return session.exec(query).all()


@pytest.fixture
def operator(seeded):
    users.add_operator(session=seeded, email=OPERATOR[0], password=OPERATOR[1], name="Op")
    return client_for(seeded, *OPERATOR)


@pytest.fixture
def bakery_admin(seeded):
    return client_for(seeded, "admin@demo.test", "demo-admin-1")


@pytest.mark.parametrize("job_id", PLATFORM_ONLY + ["usage_rollup", "template_sync"])
def test_a_tenant_admin_cannot_run_a_platform_job(seeded, bakery_admin, monkeypatch, job_id):
    called = []

    async def platform_job(**_):
        called.append(job_id)
        return "ran for every account"

    spec = scheduler.JOBS[job_id]
    monkeypatch.setitem(
        scheduler.JOBS,
        job_id,
        scheduler.JobSpec(spec.id, spec.title, spec.description, spec.interval, platform_job),
    )
    if job_id in PLATFORM_ONLY:
        answer = bakery_admin.post(f"/api/admin/jobs/{job_id}/run")
        assert answer.status_code == 403
        assert answer.json()["detail"] == "Only the platform operator can run platform jobs."
    else:  # the same name runs the account-scoped job, never the platform's
        assert bakery_admin.post(f"/api/admin/jobs/{job_id}/run").status_code in (200,)
    assert called == []
    assert runs(seeded, job_id) == []


def test_a_tenant_admin_sees_only_their_own_accounts_runs(seeded, bakery_admin, operator):
    assert operator.post("/api/admin/jobs/window_sweep/run").status_code == 200
    assert operator.post("/api/admin/jobs/usage_rollup/run").status_code == 200
    platform_summary = runs(seeded, "usage_rollup")[0].summary
    assert platform_summary

    listed = bakery_admin.get("/api/admin/jobs")
    assert listed.status_code == 200
    rows = {j["id"]: j for j in listed.json()}
    assert set(rows) == set(scheduler.ACCOUNT_JOBS) == {"usage_rollup", "template_sync"}
    assert all(j["scope"] == "account" and j["last_run"] == "Never" for j in rows.values())
    body = listed.text
    assert "window(s) closed" not in body and platform_summary not in body
    assert not any(title in body for title in ("Window expiry sweep", "Media retention"))


def test_a_tenant_admins_run_touches_their_account_only(seeded, monkeypatch):
    from ctreflex.services import templates, usage

    bakery, harbor = account_id(seeded, "Demo Bakery"), account_id(seeded, "Harbor Tools")
    rolled, synced = [], []
    real_roll_up = usage.roll_up_day

    def roll_up_day(**kwargs):
        rolled.append(kwargs.get("account_id"))
        return real_roll_up(**kwargs)

    async def sync_account_templates(acc):
        synced.append(acc)
        return templates.SyncResult()

    monkeypatch.setattr(usage, "roll_up_day", roll_up_day)
    monkeypatch.setattr(templates, "sync_account_templates", sync_account_templates)

    harbor_admin = client_for(seeded, "admin@harbor.test", "harbor-admin-1")
    done = harbor_admin.post("/api/admin/jobs/usage_rollup/run")
    assert done.status_code == 200 and done.json()["message"].startswith("Your usage")
    assert harbor_admin.post("/api/admin/jobs/template_sync/run").status_code == 200
    assert rolled == [harbor, harbor] and synced == [harbor]
    assert {r.job_id for r in runs(seeded)} == {f"usage_rollup@{harbor}", f"template_sync@{harbor}"}
    shown = {j["id"]: j for j in harbor_admin.get("/api/admin/jobs").json()}
    assert shown["usage_rollup"]["last_run"] != "Never"
    # Demo Bakery's admin sees none of Harbor's runs
    bakery_rows = client_for(seeded, "admin@demo.test", "demo-admin-1").get("/api/admin/jobs")
    assert all(j["last_run"] == "Never" for j in bakery_rows.json())
    assert bakery not in rolled


def test_run_now_spam_is_refused(seeded, bakery_admin):
    bakery = account_id(seeded, "Demo Bakery")
    answers = [bakery_admin.post("/api/admin/jobs/usage_rollup/run") for _ in range(10)]
    assert [a.status_code for a in answers] == [200] + [429] * 9
    refused = answers[1]
    assert "Try again in" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= scheduler.MANUAL_COOLDOWN.total_seconds()
    assert len(runs(seeded, f"usage_rollup@{bakery}")) == 1
    # another account's admin is not held up by Demo Bakery's run
    harbor_admin = client_for(seeded, "admin@harbor.test", "harbor-admin-1")
    assert harbor_admin.post("/api/admin/jobs/usage_rollup/run").status_code == 200


def test_a_run_in_progress_is_not_started_again(seeded, bakery_admin):
    bakery = account_id(seeded, "Demo Bakery")
    lease = jobs.job_lease(scheduler.account_run_id("template_sync", bakery))
    assert jobs.acquire(session=seeded, name=lease, holder="another-worker", ttl=600)
    answer = bakery_admin.post("/api/admin/jobs/template_sync/run")
    assert answer.status_code == 429 and "already running" in answer.json()["detail"]
    assert runs(seeded) == []


def test_the_operator_sees_and_runs_the_platform_jobs(seeded, operator):
    rows = {j["id"]: j for j in operator.get("/api/admin/jobs").json()}
    assert set(rows) == set(scheduler.JOBS) and {j["scope"] for j in rows.values()} == {"platform"}
    done = operator.post("/api/admin/jobs/window_sweep/run")
    assert done.status_code == 200 and "window(s) closed" in done.json()["message"]
    assert operator.post("/api/admin/jobs/window_sweep/run").status_code == 429
    assert operator.post("/api/admin/jobs/nope/run").status_code == 404
    assert len(runs(seeded, "window_sweep")) == 1
    me = operator.get("/api/me")
    if me.status_code == 200:
        assert me.json()["role"] == "operator"


def test_an_agent_runs_nothing(seeded):
    agent = client_for(seeded, "agent@demo.test", "demo-agent-1")
    for job_id in ["usage_rollup", "window_sweep"]:
        assert agent.post(f"/api/admin/jobs/{job_id}/run").status_code == 403
    assert agent.get("/api/admin/jobs").status_code == 403
    assert runs(seeded) == []


def test_cli_operator_add_creates_the_operator_under_the_password_rules(seeded, capsys):
    assert cli.main(["operator-add", "Ops@CTT-Platform.test", "qwerty12345"]) == 1
    assert "common" in capsys.readouterr().err
    assert cli.main(["operator-add", "admin@harbor.test", "tall-ferns-at-dusk"]) == 1
    assert "customer account" in capsys.readouterr().err
    assert cli.main(["operator-add", "Ops@CTT-Platform.test", "tall-ferns-at-dusk"]) == 0
    seeded.expire_all()
    op = seeded.exec(select(User).where(User.email == "ops@ctt-platform.test")).one()
    platform = seeded.get(Account, op.account_id)
    assert op.role == "operator" and platform.name == users.PLATFORM_ACCOUNT
    current = auth.resolve(
        session=seeded,
        token=auth.login(session=seeded, email="ops@ctt-platform.test", password=OPERATOR[1]),
    )
    assert current.is_operator and current.is_admin
    # a tenant admin can make nobody an operator
    with pytest.raises(users.UserError):
        users.add_user(
            session=seeded,
            account_id=account_id(seeded, "Demo Bakery"),
            email="new@demo.test",
            name="New",
            role="operator",
            password="tall-ferns-at-dusk",
        )
