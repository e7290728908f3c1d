"""Scheduled jobs: one leader, one run at a time, each run recorded; the job bodies."""

import asyncio
import datetime as dt

from sqlmodel import select

from ctreflex.jobs import scheduler, tasks
from ctreflex.models import (
    Account,
    Conversation,
    JobRun,
    MediaFile,
    WebhookEvent,
    utc_now,
)
from ctreflex.realtime import broker
from ctreflex.services import jobs, outbound
from ctreflex.settings import get_settings

T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def test_only_one_holder_gets_the_lease_until_it_expires(session):
    assert jobs.acquire(session=session, name="scheduler", holder="a", ttl=30, now=T0)
    assert not jobs.acquire(session=session, name="scheduler", holder="b", ttl=30, now=T0)
    # the holder renews
    assert jobs.acquire(
        session=session, name="scheduler", holder="a", ttl=30, now=T0 + dt.timedelta(seconds=20)
    )
    assert not jobs.acquire(
        session=session, name="scheduler", holder="b", ttl=30, now=T0 + dt.timedelta(seconds=40)
    )
    # the leader died: after expiry another worker takes over
    later = T0 + dt.timedelta(seconds=51)
    assert jobs.acquire(session=session, name="scheduler", holder="b", ttl=30, now=later)
    assert jobs.holder_of(session=session, name="scheduler", now=later) == "b"
    jobs.release(session=session, name="scheduler", holder="a")  # not a's: nothing happens
    assert jobs.holder_of(session=session, name="scheduler", now=later) == "b"
    jobs.release(session=session, name="scheduler", holder="b")
    assert jobs.holder_of(session=session, name="scheduler", now=later) is None


def test_two_schedulers_elect_exactly_one_leader(session):
    async def main():
        one, two = scheduler.Scheduler("worker-1"), scheduler.Scheduler("worker-2")
        results = [await one.renew_lease(), await two.renew_lease()]
        results += [await two.renew_lease(), await one.renew_lease()]
        await one.stop()  # the leader leaves: the other steps in at its next renewal
        results.append(await two.renew_lease())
        await two.stop()
        return results

    assert asyncio.run(main()) == [True, False, False, True, True]


def test_run_job_records_success_and_failure(session, monkeypatch):
    async def boom(**_):
        raise RuntimeError("Meta is down")

    spec = scheduler.JOBS["usage_rollup"]
    result = asyncio.run(scheduler.run_job("usage_rollup", trigger="manual"))
    assert result.ran and result.ok and "rolled up" in result.message
    monkeypatch.setitem(
        scheduler.JOBS,
        "usage_rollup",
        scheduler.JobSpec(spec.id, spec.title, spec.description, spec.interval, boom),
    )
    failed = asyncio.run(scheduler.run_job("usage_rollup"))
    assert failed.ran and not failed.ok and "Meta is down" in failed.message
    runs = session.exec(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.trigger, r.ok) for r in runs] == [("manual", True), ("schedule", False)]
    assert all(r.finished_at is not None for r in runs)
    rows = {r.id: r for r in scheduler.overview(fmt=lambda d: d.isoformat())}
    assert rows["usage_rollup"].last_error.endswith("Meta is down")
    assert rows["usage_rollup"].last_result == "Failed"
    assert rows["template_sync"].last_run == "Never"
    assert rows["template_sync"].next_run == "No scheduler is running"
    # the job lease was released after both runs
    assert jobs.holder_of(session=session, name=jobs.job_lease("usage_rollup")) is None


def test_a_job_already_running_elsewhere_is_not_started_twice(session):
    assert jobs.acquire(
        session=session, name=jobs.job_lease("media_retention"), holder="other-worker", ttl=600
    )
    result = asyncio.run(scheduler.run_job("media_retention", trigger="manual"))
    assert not result.ran and "already running" in result.message
    assert session.exec(select(JobRun)).all() == []


def test_window_sweep_publishes_closed_windows_and_lists_those_closing(seeded):
    s = seeded
    bakery = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    convs = s.exec(select(Conversation).where(Conversation.account_id == bakery.id)).all()
    now = utc_now()
    closing, staying = convs[0], convs[1]
    closing.window_expires_at = now + dt.timedelta(minutes=2)
    staying.window_expires_at = now + dt.timedelta(minutes=50)
    s.add_all([closing, staying])
    s.commit()
    assert outbound.window_open(closing, now)

    soon = tasks.windows_closing_soon(session=s, account_id=bakery.id, now=now)
    assert closing.id in {w.conversation_id for w in soon}
    assert staying.id in {w.conversation_id for w in soon}

    async def sweep_after_the_clock_moved():
        async with broker.subscribe(bakery.id) as sub:
            moved = now + dt.timedelta(minutes=3)
            summary = await tasks.window_sweep(now=moved, since=now)
            return summary, await sub.next_batch(timeout=1), moved

    summary, events, moved = asyncio.run(sweep_after_the_clock_moved())
    assert {"type": "conversation", "conversation_id": closing.id} in [
        {k: e[k] for k in ("type", "conversation_id")} for e in events
    ]
    assert staying.id not in {e["conversation_id"] for e in events}
    assert "window(s) closed" in summary
    s.refresh(closing)
    assert not outbound.window_open(closing, moved)  # the composer's rule: locked


def test_media_retention_deletes_old_files_and_keeps_the_rows(session, tmp_path, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path))
    reset_settings_cache()
    from ctreflex.models import Plan

    plan = Plan(code="p", name="P", whatsapp_included=True)
    session.add(plan)
    session.flush()
    account = Account(name="A", plan_id=plan.id)
    session.add(account)
    session.flush()
    days = get_settings().media_retention_days
    rows = []
    for name, age in (("old", days + 1), ("new", 1)):
        (tmp_path / name).write_bytes(b"x")
        rows.append(
            MediaFile(
                account_id=account.id,
                kind="image",
                mime_type="image/jpeg",
                size=1,
                sha256=name,
                storage_path=name,
                created_at=utc_now() - dt.timedelta(days=age),
            )
        )
    session.add_all(rows)
    session.commit()
    summary = asyncio.run(tasks.media_retention())
    assert summary.startswith("1 file record(s) expired; 1 file(s) deleted")
    assert not (tmp_path / "old").exists() and (tmp_path / "new").exists()
    old, new = (session.get(MediaFile, r.id) for r in rows)
    session.refresh(old)
    assert old.state == "expired" and "retention" in old.fetch_error
    assert new.state == "ready"
    reset_settings_cache()


def test_journal_replay_retries_failed_events(seeded):
    s = seeded
    event = WebhookEvent(
        provider="whatsapp", body="not json", body_sha256="x", state="failed", attempts=1
    )
    s.add(event)
    s.commit()
    summary = asyncio.run(tasks.journal_replay())
    s.refresh(event)
    assert "1 failed event(s) retried" in summary
    assert event.state == "rejected"  # processed again: a malformed body is rejected, kept
    assert event.attempts == 2
