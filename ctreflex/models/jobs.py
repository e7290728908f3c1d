"""The scheduler's lease (one leader among workers) and the record of every job run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ctreflex.models._base import UTCDateTime, utc_now


class SchedulerLease(SQLModel, table=True):
    """A named lock with an expiry: "scheduler" elects the one process that runs the timers;
    "job:<id>" keeps a job from running twice at once (timer and "Run now")."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    acquired_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job, for the Jobs page (last run, last error)."""

    __table_args__ = (Index("ix_jobrun_job_started", "job_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64)
    trigger: str = Field(default="schedule", max_length=16, description="schedule or manual")
    started_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ok: bool | None = None
    error: str = Field(default="")
    summary: str = Field(default="", max_length=500)
    holder: str = Field(default="", max_length=128)
