"""Tenants, their plans, users and login sessions."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from ctreflex.models._base import StrEnum, UTCDateTime, utc_now


class Role(StrEnum):
    agent = "agent"
    admin = "admin"


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


class AuthSession(SQLModel, table=True):
    """A login. The browser holds a random token; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Consecutive failed logins per e-mail, to slow down password guessing."""

    email: str = Field(primary_key=True, max_length=254)
    failures: int = 0
    last_failure_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
