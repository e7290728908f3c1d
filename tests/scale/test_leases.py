"""Several workers on one database (issue 13): each process has its own lease holder id (taken
after the fork), exactly one scheduler runs the timers, "Run now" from two workers at once runs
once, and two webhook processors on one journal never take the same events. Each test runs on
SQLite and on the local PostgreSQL (the `session`/`seeded` fixtures)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import threading

import pytest
from sqlmodel import Session, func, select

from ctreflex import db
from ctreflex.inbound import processor as processor_module
from ctreflex.inbound.gate import write_gate
from ctreflex.inbound.journal import journal_bodies
from ctreflex.inbound.lifecycle import Outcome
from ctreflex.inbound.processor import Processor
from ctreflex.jobs import scheduler
from ctreflex.models import JobRun, Message, WebhookEvent
from ctreflex.services import jobs
from tests.unit.test_processor_child import inbound_text


def test_each_forked_process_has_its_own_holder_id():
    """Reflex imports the app in granian's supervisor, then forks the workers: an id made at
    import would be shared by every worker."""
    parent = jobs.holder()
    assert parent == jobs.HOLDER  # the old name still answers, per process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a granian worker does in its lifespan
        try:
            os.write(write, jobs.holder().encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child and child != parent
    assert child.split(":")[1] == str(pid)
    assert scheduler.Scheduler().holder == parent  # resolved when asked, in this process


def _fast_job(calls: list[str]):
    async def tick(**_):
        calls.append("tick")
        return "ticked"

    return scheduler.JobSpec("tick", "Tick", "test", dt.timedelta(seconds=1), tick)


def _runs(job_id: str) -> list[JobRun]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(JobRun).where(JobRun.job_id == job_id)
                           .order_by(JobRun.started_at)).all())


def test_two_schedulers_run_each_timer_once_per_period_and_fail_over(session, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(scheduler, "JOBS", {"tick": _fast_job(calls)})
    monkeypatch.setattr(scheduler, "LEASE_RENEW", 0.5)
    monkeypatch.setattr(scheduler, "LEASE_TTL", 1.5)

    async def main():
        one, two = scheduler.Scheduler("host-a:101:aaaa"), scheduler.Scheduler("host-b:202:bbbb")
        one.start()
        await asyncio.sleep(0.3)  # one takes the lease first
        two.start()
        await asyncio.sleep(4.0)
        leaders = (one.is_leader, two.is_leader)
        with Session(db.get_engine()) as s:
            text = scheduler.leader_text()
            info = jobs.lease_info(session=s, name=jobs.SCHEDULER_LEASE)
        # the leader dies without releasing (kill -9): the other takes over after the TTL
        one._sched.shutdown(wait=False)
        one._sched = None
        await asyncio.sleep(4.5)
        after = (two.is_leader,)
        await two.stop()
        return leaders, after, text, info

    leaders, after, text, info = asyncio.run(main())
    assert leaders == (True, False)
    assert after == (True,)
    assert info.holder == "host-a:101:aaaa" and info.host == "host-a" and info.pid == 101
    assert text.startswith("Timed jobs run in process 101 on host-a")
    runs = _runs("tick")
    holders = [r.holder for r in runs]
    assert set(holders) == {"host-a:101:aaaa", "host-b:202:bbbb"}
    assert holders == sorted(holders)  # a, then b: never both
    starts = [r.started_at for r in runs]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.8 * 1.0, gaps  # once per period, across the failover too
    assert 5 <= len(runs) <= 9, len(runs)
    assert len(calls) == len(runs)


def test_run_now_from_two_workers_at_once_runs_once(session, monkeypatch):
    calls: list[str] = []

    async def slow(**_):
        calls.append("x")
        await asyncio.sleep(0.3)
        return "done"

    monkeypatch.setattr(
        scheduler, "JOBS",
        {"slow": scheduler.JobSpec("slow", "Slow", "t", dt.timedelta(minutes=1), slow)},
    )

    async def main():
        return await asyncio.gather(
            scheduler.run_job("slow", trigger="manual", holder="w1:1:a"),
            scheduler.run_job("slow", trigger="manual", holder="w2:2:b"),
        )

    results = asyncio.run(main())
    assert sorted(r.ran for r in results) == [False, True]
    assert len(calls) == 1 and len(_runs("slow")) == 1
    refused = next(r for r in results if not r.ran)
    assert refused.message in ("Slow is already running.",) or "Try again" in refused.message


def test_jobs_page_says_when_no_process_holds_the_lease(session):
    assert scheduler.leader_text() == (
        "No process holds the scheduler lease: timed jobs are not running."
    )
    jobs.acquire(session=session, name=jobs.SCHEDULER_LEASE, holder=jobs.holder(), ttl=30)
    assert scheduler.leader_text().endswith("— the process serving this page.")


@dataclasses.dataclass
class _Fallbacks(logging.Handler):
    """Counts the processor's give-way paths (unique violations, deadlocks, rolled-back
    runs): with one elected processor there must be none."""

    records: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        super().__init__(logging.INFO)

    def emit(self, record):
        text = record.getMessage()
        if any(k in text for k in ("gave way", "outside its savepoint", "failed",
                                   "deadlock", "UniqueViolation", "IntegrityError")):
            self.records.append(text)

    __hash__ = logging.Handler.__hash__


CUSTOMERS = [(f"1212555{n:04d}", f"Customer {n}") for n in range(7000, 7010)]


def test_two_processors_on_one_journal_take_every_event_once_in_order(seeded, monkeypatch):
    """Two processors (two holder ids, as two workers' children) wake on every journal write;
    one leads and processes everything, the other stands by."""
    counter = _Fallbacks()
    for name in ("ctreflex.ingest", "ctreflex.processor"):
        logging.getLogger(name).addHandler(counter)
    logging.getLogger().addHandler(counter)
    total = 200

    async def main():
        a, b = Processor(holder="host-a:1:aaaa"), Processor(holder="host-b:2:bbbb")
        a.start()
        b.start()
        for i in range(total):
            wa_id, name = CUSTOMERS[i % len(CUSTOMERS)]
            with write_gate.journal():
                journal_bodies(
                    provider="whatsapp",
                    bodies=[inbound_text(f"wamid.SCALE{i:04d}", f"message {i}", wa_id, name)],
                )
            (a if i % 2 else b).notify()  # the webhook landed on either worker
            if i % 20 == 0:
                await asyncio.sleep(0.01)
        for _ in range(200):
            await asyncio.sleep(0.1)
            with Session(db.get_engine()) as s:
                left = s.exec(select(func.count()).select_from(WebhookEvent)
                              .where(WebhookEvent.state.in_(["pending", "retry"]))).one()
            if not left:
                break
        # the last batch's commit is seen above before its processor's coroutine resumes from
        # the thread and counts it (a busy machine widens that gap): let it count
        for _ in range(50):
            if a.stats["events"] + b.stats["events"] >= total:
                break
            await asyncio.sleep(0.1)
        stats = (dict(a.stats), dict(b.stats))
        await a.stop()
        await b.stop()
        return stats

    try:
        stats = asyncio.run(main())
    finally:
        logging.getLogger().removeHandler(counter)
        for name in ("ctreflex.ingest", "ctreflex.processor"):
            logging.getLogger(name).removeHandler(counter)
    with Session(db.get_engine()) as s:
        states = dict(s.exec(select(WebhookEvent.state, func.count())
                             .group_by(WebhookEvent.state)).all())
        rows = s.exec(select(Message.provider_message_id, Message.conversation_id, Message.id)
                      .where(Message.provider_message_id.like("wamid.SCALE%"))).all()
    assert states == {"done": total}
    wamids = [r[0] for r in rows]
    assert len(wamids) == total and len(set(wamids)) == total  # 0 lost, 0 duplicated
    by_conversation: dict[int, list[tuple[int, str]]] = {}
    for wamid, conversation_id, message_id in rows:
        by_conversation.setdefault(conversation_id, []).append((message_id, wamid))
    for items in by_conversation.values():  # stored in journal order in each conversation
        ordered = [w for _, w in sorted(items)]
        assert ordered == sorted(ordered)
    a_stats, b_stats = stats
    assert sorted([a_stats["events"], b_stats["events"]])[0] == 0, stats  # one did them all
    assert a_stats["events"] + b_stats["events"] == total
    assert counter.records == []


def test_a_processor_stopped_mid_batch_keeps_the_lease_until_the_batch_is_written(
    session, monkeypatch
):
    """The web worker killed with -9: its processor child reads EOF and stops while a batch is
    still writing in its thread. The lease stays the child's until that batch is written (freed
    at once, another worker's processor took the same rows: a deadlock in CI), then is freed."""
    started, finish = threading.Event(), threading.Event()
    written: list[str] = []

    def slow_batch(limit: int = 500, careful: bool = False):
        started.set()
        finish.wait(10)
        written.append("batch")
        return 0, Outcome()

    monkeypatch.setattr(processor_module, "process_due", slow_batch)

    def holder() -> str | None:
        with Session(db.get_engine()) as s:
            return jobs.holder_of(session=s, name=jobs.PROCESSOR_LEASE)

    async def main():
        leader = Processor(holder="host-a:1:aaaa")
        leader.start()
        assert await asyncio.to_thread(started.wait, 10)
        stopping = asyncio.ensure_future(leader.stop())
        await asyncio.sleep(0.3)
        during = (await asyncio.to_thread(holder), stopping.done(), list(written))
        finish.set()
        await asyncio.wait_for(stopping, 10)
        return during, await asyncio.to_thread(holder)

    (holder_during, stopped_early, written_early), holder_after = asyncio.run(main())
    assert holder_during == "host-a:1:aaaa" and not stopped_early and written_early == []
    assert written == ["batch"] and holder_after is None


@pytest.mark.postgres
def test_a_standby_processor_wakes_the_leader_through_postgres(seeded, db_url, monkeypatch):
    """On PostgreSQL a webhook journaled by a worker whose processor stands by reaches the
    leader at once (NOTIFY), not at the leader's next idle look."""
    if not db_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    from ctreflex.inbound import processor as processor_module

    monkeypatch.setattr(processor_module, "IDLE_POLL", 30.0)

    async def main():
        leader, standby = Processor(holder="host-a:1:aaaa"), Processor(holder="host-b:2:bbbb")
        leader.start()
        await asyncio.sleep(0.3)
        standby.start()
        await asyncio.sleep(0.5)
        assert leader.is_leader and not standby.is_leader
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with write_gate.journal():
            journal_bodies(provider="whatsapp",
                                  bodies=[inbound_text("wamid.NOTIFY1", "hello")])
        standby.notify()
        while loop.time() - t0 < 5:
            with Session(db.get_engine()) as s:
                done = s.exec(select(Message).where(
                    Message.provider_message_id == "wamid.NOTIFY1")).first()
            if done:
                break
            await asyncio.sleep(0.02)
        took = loop.time() - t0
        stats = dict(standby.stats)
        await standby.stop()
        await leader.stop()
        return took, stats

    took, stats = asyncio.run(main())
    assert took < 2.0, took
    assert stats["notified_leader"] >= 1 and stats["events"] == 0


def test_a_dead_childs_processor_lease_is_freed_by_its_parent_not_another_process(session):
    jobs.acquire(session=session, name=jobs.PROCESSOR_LEASE, holder="web-1:4321:aaaa", ttl=30)
    # another host's (or another pid's) exit frees nothing
    assert jobs.release_process(session=session, name=jobs.PROCESSOR_LEASE,
                                host="web-2", pid=4321) == 0
    assert jobs.release_process(session=session, name=jobs.PROCESSOR_LEASE,
                                host="web-1", pid=432) == 0
    assert jobs.holder_of(session=session, name=jobs.PROCESSOR_LEASE) == "web-1:4321:aaaa"
    assert jobs.release_process(session=session, name=jobs.PROCESSOR_LEASE,
                                host="web-1", pid=4321) == 1
    assert jobs.holder_of(session=session, name=jobs.PROCESSOR_LEASE) is None
