"""Tenants, their plans, users and login sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, false, true
from sqlmodel import Field, SQLModel

from ctreflex.models._base import StrEnum, UTCDateTime, utc_now


class Role(StrEnum):
    agent = "agent"
    admin = "admin"
    # The platform operator (CT Text's staff, `python -m ctreflex.cli operator-add`): admin of
    # its own platform account, and the only one who sees and runs the platform-wide jobs.
    operator = "operator"


class Plan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=64)
    whatsapp_included: bool = False
    fee_minor: int = Field(default=1, description="Per-message platform fee, minor units")
    currency: str = Field(default="USD", max_length=3)
    seats: int = 5
    number_limit: int = Field(default=2, description="Business numbers the plan allows")
    sort_order: int = 0


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    early_access: bool = False
    payment_method_on_file: bool = False
    business_verified: bool = False
    timezone: str = Field(default="UTC", max_length=64)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    # a reply from an unassigned conversation assigns it to the replier (admins change it)
    auto_assign_on_reply: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    email: str = Field(unique=True, max_length=254)
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.agent.value, max_length=16)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # opt-in: a live notice 60 min before the window of a conversation assigned to them closes
    window_reminders: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class AuthSession(SQLModel, table=True):
    """A login. The browser holds a random token; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Recent failed logins, one counter per (kind, key): kind "email" (the account), "ip" (the
    client address) or "pair" (both). The key is a SHA-256 of the value, never the value (a guess
    at an e-mail is not kept). Counters older than the window are pruned, and the table is kept
    under a fixed number of rows (services/auth.py), so guesses cannot grow it without bound."""

    __table_args__ = (Index("ix_loginthrottle_last_failure_at", "last_failure_at"),)

    kind: str = Field(primary_key=True, max_length=8)
    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_start: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    last_failure_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    blocked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
