"""The one scheduler: APScheduler's AsyncIOScheduler, started in a Reflex lifespan task.

Every worker starts a scheduler, but only the worker holding the "scheduler" lease (a row in
the database, renewed every LEASE_RENEW seconds, expiring after LEASE_TTL) runs the timed jobs;
the others keep trying to take the lease and step in when the leader goes away. The holder id
is the process's own (`jobs.holder()`, taken in the lifespan, after granian forked the worker).
Each run also holds a per-job lease, so "Run now" from any worker and the timer never run a job
twice at once, and a timed run is skipped when any process started the same job less than
MIN_GAP of its period ago (a new leader after a failover does not repeat the old one's run).
Every run is recorded in JobRun for the Jobs page.

CTREFLEX_JOB_INTERVAL_SCALE multiplies every period (tests use 0.1: the one-minute jobs run
every 6 seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ctreflex import db
from ctreflex.jobs import tasks, team
from ctreflex.services import jobs
from ctreflex.settings import get_settings

log = logging.getLogger("ctreflex.scheduler")

LEASE_TTL = 45.0
LEASE_RENEW = 15.0
JOB_LEASE_TTL = 15 * 60.0
MIN_GAP = 0.8  # of the (scaled) period: a timed run closer than this to the last is skipped


def interval_of(spec: JobSpec) -> dt.timedelta:
    """The job's period in this deployment (CTREFLEX_JOB_INTERVAL_SCALE applied)."""
    return spec.interval * get_settings().job_interval_scale


@dataclasses.dataclass(frozen=True)
class JobSpec:
    id: str
    title: str
    description: str
    interval: dt.timedelta
    func: Callable[..., Awaitable[str]]
    run_at_start: bool = False  # a fresh install should not wait a whole interval


async def _webhook_deliveries(*, now: dt.datetime | None = None) -> str:
    from ctreflex.services import webhook_queue

    return await webhook_queue.deliver_job(now=now)


JOBS: dict[str, JobSpec] = {
    spec.id: spec
    for spec in (
        JobSpec(
            "window_sweep",
            "Window expiry sweep",
            "Open inboxes see windows close live; lists windows closing within the hour.",
            dt.timedelta(minutes=1),
            tasks.window_sweep,
        ),
        JobSpec(
            "usage_rollup",
            "Usage roll-up",
            "Sums yesterday's and today's usage records per day, number and channel.",
            dt.timedelta(minutes=10),
            tasks.usage_rollup,
            run_at_start=True,
        ),
        JobSpec(
            "template_sync",
            "Template sync",
            "Copies the templates of each connected WhatsApp Business Account from Meta.",
            dt.timedelta(hours=1),
            tasks.template_sync_job,
            run_at_start=True,
        ),
        JobSpec(
            "journal_replay",
            "Webhook journal replay",
            "Processes webhook events waiting to be retried, and tries failed ones again.",
            dt.timedelta(minutes=5),
            tasks.journal_replay,
        ),
        JobSpec(
            "send_outbox",
            "Send outbox",
            "Retries WhatsApp messages Meta refused for now (rate limit, outage) at their time.",
            dt.timedelta(minutes=1),
            tasks.send_outbox,
        ),
        JobSpec(
            "webhook_deliveries",
            "Outbound webhooks",
            "Delivers queued events to the accounts' webhook endpoints; retries with backoff.",
            dt.timedelta(minutes=1),
            _webhook_deliveries,
        ),
        JobSpec(
            "team_sweep",
            "Snoozes and reminders",
            "Reopens snoozed conversations whose time has come; reminds opted-in assignees "
            "60 min before an unanswered conversation's window closes.",
            dt.timedelta(minutes=1),
            team.team_sweep,
        ),
        JobSpec(
            "media_retention",
            "Media retention",
            "Deletes media files older than the retention period from disk.",
            dt.timedelta(hours=24),
            tasks.media_retention,
        ),
    )
}


START_DELAY = dt.timedelta(seconds=5)  # after the first lease renewal


@dataclasses.dataclass(frozen=True)
class RunResult:
    job_id: str
    ran: bool
    ok: bool
    message: str
    retry_after: int = 0  # a refused manual run: seconds until it may be asked again


class UnknownJob(KeyError):
    pass


# "Run now" is refused while the same run is in progress, and for MANUAL_COOLDOWN after the
# last manual start of the same job (for an account-scoped run: of the same account).
MANUAL_COOLDOWN = dt.timedelta(seconds=30)


@dataclasses.dataclass(frozen=True)
class AccountJobSpec:
    """A run a tenant admin may start for their own account only (recorded as `job@account`)."""

    id: str
    title: str
    description: str
    func: Callable[[int], Awaitable[str]]


async def _account_template_sync(account_id: int) -> str:
    from ctreflex.services.templates import sync_account_templates

    result = await sync_account_templates(account_id)
    if result.errors:
        raise RuntimeError("; ".join(result.errors)[:400])
    changed = result.added + result.updated + result.removed
    return f"Your templates synced; {changed} template(s) changed"


async def _account_usage_rollup(account_id: int) -> str:
    from ctreflex.services import usage

    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=1), today]

    def roll() -> int:
        with db.session_scope() as session:
            return sum(
                usage.roll_up_day(session=session, day=day, account_id=account_id) for day in days
            )

    changed = await asyncio.to_thread(roll)
    return f"Your usage for {len(days)} day(s) recomputed; {changed} row(s) written"


ACCOUNT_JOBS: dict[str, AccountJobSpec] = {
    spec.id: spec
    for spec in (
        AccountJobSpec(
            "template_sync",
            "Template sync",
            "Copies your WhatsApp Business Account's templates from Meta now "
            "(the platform also syncs every account every hour).",
            _account_template_sync,
        ),
        AccountJobSpec(
            "usage_rollup",
            "Usage roll-up",
            "Recomputes your usage figures for yesterday and today now "
            "(the platform also does it every 10 minutes).",
            _account_usage_rollup,
        ),
    )
}


def account_run_id(job_id: str, account_id: int) -> str:
    """The JobRun.job_id (and lease) of an account-scoped run."""
    return f"{job_id}@{account_id}"


async def _run(
    record_id: str,
    title: str,
    call: Callable[[], Awaitable[str]],
    *,
    trigger: str,
    holder: str,
    result_id: str,
    min_gap: dt.timedelta | None = None,
) -> RunResult:
    lease = jobs.job_lease(record_id)
    with db.session_scope() as session:
        if not jobs.acquire(session=session, name=lease, holder=holder, ttl=JOB_LEASE_TTL):
            return RunResult(result_id, False, False, f"{title} is already running.", 5)
        if min_gap is not None:
            last = jobs.last_started(session=session, job_id=record_id, trigger=trigger)
            if last is not None and dt.datetime.now(dt.UTC) - last < min_gap:
                jobs.release(session=session, name=lease, holder=holder)
                return RunResult(result_id, False, True, f"{title} ran less than a period ago.")
        if trigger == "manual":
            last = jobs.last_started(session=session, job_id=record_id, trigger="manual")
            now = dt.datetime.now(dt.UTC)
            if last is not None and now - last < MANUAL_COOLDOWN:
                jobs.release(session=session, name=lease, holder=holder)
                wait = max(1, int((last + MANUAL_COOLDOWN - now).total_seconds() + 0.999))
                return RunResult(
                    result_id,
                    False,
                    False,
                    f"{title} was started less than {int(MANUAL_COOLDOWN.total_seconds())} s "
                    f"ago. Try again in {wait} s.",
                    wait,
                )
        run_id = jobs.start_run(session=session, job_id=record_id, trigger=trigger, holder=holder)
    try:
        summary = await call()
        ok, error = True, ""
    except Exception as exc:  # noqa: BLE001 - recorded for the Jobs page
        log.exception("job %s failed", record_id)
        summary, ok, error = "", False, f"{exc.__class__.__name__}: {exc}"
    finally:
        with db.session_scope() as session:
            jobs.release(session=session, name=lease, holder=holder)
    with db.session_scope() as session:
        jobs.finish_run(session=session, run_id=run_id, ok=ok, summary=summary, error=error)
    return RunResult(result_id, True, ok, summary if ok else error)


async def run_job(
    job_id: str,
    *,
    trigger: str = "schedule",
    holder: str | None = None,
    min_gap: dt.timedelta | None = None,
    **kwargs,
):
    """Run one platform job now under its lease and record the run. Never raises for a job's
    failure. Platform jobs touch every account: only the scheduler and the operator run them.
    `holder` defaults to this process's id; `min_gap`: skip when the last run with the same
    trigger started less than this ago."""
    spec = JOBS.get(job_id)
    if spec is None:
        raise UnknownJob(job_id)
    return await _run(
        job_id,
        spec.title,
        lambda: spec.func(**kwargs),
        trigger=trigger,
        holder=holder or jobs.holder(),
        result_id=job_id,
        min_gap=min_gap,
    )


async def run_account_job(
    job_id: str, account_id: int, *, trigger: str = "manual", holder: str | None = None
) -> RunResult:
    """Run one account-scoped job for `account_id` only (a tenant admin's "Run now")."""
    spec = ACCOUNT_JOBS.get(job_id)
    if spec is None:
        raise UnknownJob(job_id)
    return await _run(
        account_run_id(job_id, account_id),
        spec.title,
        lambda: spec.func(account_id),
        trigger=trigger,
        holder=holder or jobs.holder(),
        result_id=job_id,
    )


class Scheduler:
    """APScheduler plus the leader lease. `start()` needs a running event loop."""

    def __init__(self, holder: str | None = None) -> None:
        self._holder = holder  # None: this process's id, asked for when used (after the fork)
        self.is_leader = False
        self.started = False
        self._sched: AsyncIOScheduler | None = None

    @property
    def holder(self) -> str:
        return self._holder or jobs.holder()

    def start(self) -> None:
        self._sched = AsyncIOScheduler(
            timezone=dt.UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.started = True
        self._sched.add_job(
            self.renew_lease,
            "interval",
            seconds=LEASE_RENEW,
            id="_lease",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        for spec in JOBS.values():
            self._sched.add_job(
                self._timed,
                "interval",
                seconds=interval_of(spec).total_seconds(),
                args=[spec.id],
                id=spec.id,
                replace_existing=True,
                **(
                    {"next_run_time": dt.datetime.now(dt.UTC) + START_DELAY}
                    if spec.run_at_start
                    else {}
                ),
            )
        self._sched.start()

    async def renew_lease(self) -> bool:
        def take() -> bool:
            with db.session_scope() as session:
                return jobs.acquire(
                    session=session, name=jobs.SCHEDULER_LEASE, holder=self.holder, ttl=LEASE_TTL
                )

        try:
            leader = await asyncio.to_thread(take)
        except Exception:  # noqa: BLE001 - the database may be briefly unavailable
            log.exception("could not renew the scheduler lease")
            leader = False
        if leader != self.is_leader:
            log.info("scheduler %s: %s", self.holder, "leading" if leader else "standing by")
        self.is_leader = leader
        return leader

    async def _timed(self, job_id: str) -> None:
        if self.is_leader:
            gap = interval_of(JOBS[job_id]) * MIN_GAP
            await run_job(job_id, trigger="schedule", holder=self.holder, min_gap=gap)

    def next_run(self, job_id: str) -> dt.datetime | None:
        if self._sched is None or not self.is_leader:
            return None
        job = self._sched.get_job(job_id)
        return job.next_run_time if job else None

    async def stop(self) -> None:
        if self._sched is not None:
            self._sched.shutdown(wait=False)
            self._sched = None
        self.started = False
        if self.is_leader:
            with contextlib.suppress(Exception), db.session_scope() as session:
                jobs.release(session=session, name=jobs.SCHEDULER_LEASE, holder=self.holder)
        self.is_leader = False


scheduler = Scheduler()


@contextlib.asynccontextmanager
async def scheduler_lifespan():
    """Reflex lifespan task: every worker competes for the lease; one runs the jobs."""
    if not get_settings().run_scheduler:
        yield
        return
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()


def leader_text(*, fmt: Callable[[dt.datetime], str] | None = None) -> str:
    """Which process runs the timed jobs, for the Jobs page (and /readyz): the truth from the
    lease row, not this process's belief."""
    with db.session_scope() as session:
        info = jobs.lease_info(session=session, name=jobs.SCHEDULER_LEASE)
    if info is None:
        return "No process holds the scheduler lease: timed jobs are not running."
    where = f"process {info.pid} on {info.host}" if info.pid else info.holder
    since = f" (lease taken {fmt(info.acquired_at)})" if fmt else ""
    this = " — the process serving this page" if info.mine else ""
    return f"Timed jobs run in {where}{this}{since}."


@dataclasses.dataclass(frozen=True)
class JobRow:
    """One line of the Jobs page."""

    id: str
    title: str
    description: str
    every: str
    last_run: str
    last_result: str
    last_ok: bool
    never_ran: bool
    next_run: str
    last_error: str
    last_error_at: str
    running: bool
    scope: str = "platform"  # "platform" (operator only) or "account" (the viewer's own)


def _every(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60 or seconds % 60:
        n, unit = seconds, "second"
    elif seconds % 86400 == 0:
        n, unit = seconds // 86400, "day"
    elif seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    else:
        n, unit = seconds // 60, "minute"
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def overview(*, fmt: Callable[[dt.datetime], str], now: dt.datetime | None = None) -> list[JobRow]:
    """Each job's last run, next run and last error. The next run comes from this worker's
    scheduler when it leads; otherwise from the last timed run and the interval, if any
    scheduler holds the lease."""
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    with db.session_scope() as session:
        leader = jobs.holder_of(session=session, name=jobs.SCHEDULER_LEASE, now=now)
        for spec in JOBS.values():
            st = jobs.status(session=session, job_id=spec.id, now=now)
            nxt = scheduler.next_run(spec.id)
            if nxt is None and leader is not None:
                last_timed = jobs.last_started(session=session, job_id=spec.id, trigger="schedule")
                nxt = max(last_timed + interval_of(spec), now) if last_timed else None
            if nxt is not None:
                next_text = fmt(nxt)
            elif leader is None:
                next_text = "No scheduler is running"
            else:
                next_text = "Soon"
            rows.append(
                JobRow(
                    id=spec.id,
                    title=spec.title,
                    description=spec.description,
                    every=_every(interval_of(spec)),
                    last_run=fmt(st.last_started) if st.last_started else "Never",
                    last_result=(
                        "Running…"
                        if st.last_ok is None and st.last_started
                        else st.last_summary
                        if st.last_ok
                        else "Failed"
                        if st.last_started
                        else ""
                    ),
                    last_ok=bool(st.last_ok),
                    never_ran=st.last_started is None,
                    next_run=next_text,
                    last_error=st.last_error,
                    last_error_at=fmt(st.last_error_at) if st.last_error_at else "",
                    running=st.running,
                )
            )
    return rows


def account_overview(
    *, account_id: int, fmt: Callable[[dt.datetime], str], now: dt.datetime | None = None
) -> list[JobRow]:
    """A tenant admin's Jobs table: the account-scoped runs of this account only (no platform
    job, no figure about another account)."""
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    with db.session_scope() as session:
        for spec in ACCOUNT_JOBS.values():
            st = jobs.status(session=session, job_id=account_run_id(spec.id, account_id), now=now)
            rows.append(
                JobRow(
                    id=spec.id,
                    title=spec.title,
                    description=spec.description,
                    every="when you run it",
                    last_run=fmt(st.last_started) if st.last_started else "Never",
                    last_result=(
                        "Running…"
                        if st.last_ok is None and st.last_started
                        else st.last_summary
                        if st.last_ok
                        else "Failed"
                        if st.last_started
                        else ""
                    ),
                    last_ok=bool(st.last_ok),
                    never_ran=st.last_started is None,
                    next_run="When you run it",
                    last_error=st.last_error,
                    last_error_at=fmt(st.last_error_at) if st.last_error_at else "",
                    running=st.running,
                    scope="account",
                )
            )
    return rows
