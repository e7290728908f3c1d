"""Leases (one scheduler among many workers, one run of a job at a time) and job-run records.

A lease is a row with a holder and an expiry. Taking it is one conditional UPDATE (free, expired
or already ours) or, when the row does not exist yet, one INSERT; both are atomic on SQLite and
PostgreSQL, so two workers never both believe they hold it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import uuid

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ctreflex.models import JobRun, SchedulerLease, utc_now

SCHEDULER_LEASE = "scheduler"
PROCESSOR_LEASE = "processor"

_holder: tuple[int, str] | None = None


def holder() -> str:
    """This process's lease holder id, `host:pid:random`, taken in the process that asks.

    Not computed at import: Reflex imports the app once in granian's supervisor and then forks
    the workers, so an id made at import would be the same in every worker and each would
    believe it holds the lease. A forked child sees a new pid and gets its own id."""
    global _holder
    pid = os.getpid()
    if _holder is None or _holder[0] != pid:
        _holder = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}")
    return _holder[1]


def __getattr__(name: str) -> str:  # `jobs.HOLDER` still works, per process
    if name == "HOLDER":
        return holder()
    raise AttributeError(name)


@dataclasses.dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    host: str
    pid: int | None
    acquired_at: dt.datetime
    expires_at: dt.datetime
    mine: bool  # held by this process


def lease_info(*, session: Session, name: str, now: dt.datetime | None = None) -> LeaseInfo | None:
    """Who holds the lease `name` now (None when free or expired)."""
    now = now or utc_now()
    row = session.get(SchedulerLease, name)
    if row is None or row.expires_at <= now:
        return None
    parts = row.holder.split(":")
    pid = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    return LeaseInfo(
        name=name,
        holder=row.holder,
        host=parts[0],
        pid=pid,
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
        mine=row.holder == holder(),
    )


def job_lease(job_id: str) -> str:
    return f"job:{job_id}"


def acquire(
    *, session: Session, name: str, holder: str, ttl: float, now: dt.datetime | None = None
) -> bool:
    """Take or renew the lease `name` for `ttl` seconds. True when `holder` now holds it."""
    now = now or utc_now()
    expires = now + dt.timedelta(seconds=ttl)
    result = session.exec(  # type: ignore[call-overload]
        update(SchedulerLease)
        .where(
            col(SchedulerLease.name) == name,
            or_(col(SchedulerLease.holder) == holder, col(SchedulerLease.expires_at) <= now),
        )
        .values(holder=holder, expires_at=expires, acquired_at=now)
    )
    session.commit()
    if result.rowcount:
        return True
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        session.add(SchedulerLease(name=name, holder=holder, acquired_at=now, expires_at=expires))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def release(*, session: Session, name: str, holder: str) -> None:
    session.exec(  # type: ignore[call-overload]
        delete(SchedulerLease).where(
            col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder
        )
    )
    session.commit()


def release_process(*, session: Session, name: str, host: str, pid: int) -> int:
    """Free the lease `name` if a process `pid` on `host` holds it: its parent saw it exit, so
    the next holder need not wait for the expiry."""
    result = session.exec(  # type: ignore[call-overload]
        delete(SchedulerLease).where(
            col(SchedulerLease.name) == name,
            col(SchedulerLease.holder).startswith(f"{host}:{pid}:", autoescape=True),
        )
    )
    session.commit()
    return result.rowcount or 0


def holder_of(*, session: Session, name: str, now: dt.datetime | None = None) -> str | None:
    now = now or utc_now()
    row = session.get(SchedulerLease, name)
    if row is None or row.expires_at <= now:
        return None
    return row.holder


def start_run(*, session: Session, job_id: str, trigger: str, holder: str) -> int:
    run = JobRun(job_id=job_id, trigger=trigger, holder=holder, started_at=utc_now())
    session.add(run)
    session.commit()
    return run.id


def finish_run(*, session: Session, run_id: int, ok: bool, summary: str = "", error: str = ""):
    run = session.get(JobRun, run_id)
    run.finished_at = utc_now()
    run.ok = ok
    run.summary = summary[:500]
    run.error = error[:4000]
    session.add(run)
    session.commit()


@dataclasses.dataclass(frozen=True)
class JobStatus:
    job_id: str
    last_started: dt.datetime | None
    last_finished: dt.datetime | None
    last_ok: bool | None
    last_summary: str
    last_error: str
    last_error_at: dt.datetime | None
    running: bool


def status(*, session: Session, job_id: str, now: dt.datetime | None = None) -> JobStatus:
    last = session.exec(
        select(JobRun).where(JobRun.job_id == job_id).order_by(col(JobRun.started_at).desc())
    ).first()
    failed = session.exec(
        select(JobRun)
        .where(JobRun.job_id == job_id, col(JobRun.ok).is_(False))
        .order_by(col(JobRun.started_at).desc())
    ).first()
    return JobStatus(
        job_id=job_id,
        last_started=last.started_at if last else None,
        last_finished=last.finished_at if last else None,
        last_ok=last.ok if last else None,
        last_summary=last.summary if last else "",
        last_error=failed.error if failed else "",
        last_error_at=failed.started_at if failed else None,
        running=holder_of(session=session, name=job_lease(job_id), now=now) is not None,
    )


def prune_runs(*, session: Session, keep_days: int = 30, now: dt.datetime | None = None) -> int:
    cutoff = (now or utc_now()) - dt.timedelta(days=keep_days)
    result = session.exec(  # type: ignore[call-overload]
        delete(JobRun).where(col(JobRun.started_at) < cutoff)
    )
    session.commit()
    return result.rowcount or 0


def last_started(*, session: Session, job_id: str, trigger: str | None = None):
    query = select(JobRun.started_at).where(JobRun.job_id == job_id)
    if trigger is not None:
        query = query.where(JobRun.trigger == trigger)
    return session.exec(query.order_by(col(JobRun.started_at).desc())).first()
