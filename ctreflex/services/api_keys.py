"""API keys for the public REST API (/api/v1): created and revoked by an account's admins,
shown once, stored as a SHA-256 digest (the key itself holds 256 random bits, so a plain hash
is enough: nothing to brute-force), with a name, scopes and the last time it was used.

Also the per-key rate limit (a fixed one-minute window counted in Redis when configured, else
in the database, so every worker shares it) and the idempotency records of the POSTs that send.
Never imports reflex."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ctreflex.models import Account, ApiIdempotency, ApiKey, ApiRateWindow, utc_now
from ctreflex.services.errors import UserFacingError

KEY_PREFIX = "ctk_"
PREFIX_CHARS = 12  # "ctk_" + 8 characters: shown in lists to recognise a key
SCOPES = ("read", "send", "admin")
SCOPE_HELP = {
    "read": "read contacts, conversations, messages and templates",
    "send": "send messages and create or update contacts",
    "admin": "everything, plus numbers and usage (fees)",
}
NAME_MAX = 80
KEYS_PER_ACCOUNT = 50
RATE_WINDOW_SECONDS = 60
LAST_USED_EVERY = dt.timedelta(seconds=60)  # last_used_at is written at most this often
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_STUCK_AFTER = dt.timedelta(minutes=5)  # a first request unanswered this long died


class ApiKeyError(UserFacingError, ValueError):
    """Bad input for a key; `field` names the input."""


@dataclasses.dataclass(frozen=True)
class KeyRow:
    """One line of the admin page's list (never the key itself)."""

    id: int
    name: str
    prefix: str
    scopes: str
    created: str
    last_used: str
    revoked: bool
    revoked_at: str


@dataclasses.dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    key: str  # shown once, never stored
    prefix: str
    scopes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: the key and its account."""

    key_id: int
    account_id: int
    scopes: frozenset[str]
    created_by_id: int | None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _fmt(at: dt.datetime | None, fmt) -> str:
    if at is None:
        return ""
    return fmt(at) if fmt else at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def clean_scopes(scopes) -> tuple[str, ...]:
    chosen = [s for s in SCOPES if s in set(scopes or ())]
    unknown = sorted(set(scopes or ()) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"Unknown scope {unknown[0]!r}: choose read, send or admin.", "scopes")
    if not chosen:
        raise ApiKeyError("Choose at least one scope.", "scopes")
    return tuple(chosen)


def create_key(
    *, session: Session, account_id: int, name: str, scopes, created_by_id: int | None
) -> NewKey:
    """A new key for the account. The returned `key` is the only time it exists in clear."""
    name = " ".join((name or "").split())
    if not name:
        raise ApiKeyError("Give the key a name (e.g. the system that will use it).", "name")
    if len(name) > NAME_MAX:
        raise ApiKeyError(f"A key's name can be at most {NAME_MAX} characters.", "name")
    chosen = clean_scopes(scopes)
    live = session.exec(
        select(ApiKey.id).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
    ).all()
    if len(live) >= KEYS_PER_ACCOUNT:
        raise ApiKeyError(
            f"An account can have at most {KEYS_PER_ACCOUNT} keys; revoke one first.", "name"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        account_id=account_id,
        name=name,
        prefix=key[:PREFIX_CHARS],
        key_hash=digest(key),
        scopes=" ".join(chosen),
        created_by_id=created_by_id,
    )
    session.add(row)
    session.commit()
    return NewKey(row.id, name, key, row.prefix, chosen)


def list_keys(*, session: Session, account_id: int, fmt=None) -> list[KeyRow]:
    rows = session.exec(
        select(ApiKey)
        .where(ApiKey.account_id == account_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
    ).all()
    return [
        KeyRow(
            id=r.id,
            name=r.name,
            prefix=r.prefix,
            scopes=r.scopes,
            created=_fmt(r.created_at, fmt),
            last_used=_fmt(r.last_used_at, fmt) or "Never",
            revoked=r.revoked_at is not None,
            revoked_at=_fmt(r.revoked_at, fmt),
        )
        for r in rows
    ]


def revoke_key(*, session: Session, account_id: int, key_id: int) -> KeyRow:
    """Revoke one of the account's keys (at once, for every worker: checked in the DB)."""
    row = session.get(ApiKey, key_id)
    if row is None or row.account_id != account_id:
        raise ApiKeyError("No such API key in your account.", "key")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        session.add(row)
        session.commit()
    return next(k for k in list_keys(session=session, account_id=account_id) if k.id == key_id)


def authenticate(*, session: Session, key: str, now: dt.datetime | None = None):
    """The principal for a presented key, or None (unknown, revoked, or its account gone)."""
    key = (key or "").strip()
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    if session.get(Account, row.account_id) is None:
        return None
    now = now or utc_now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        session.commit()
    return ApiPrincipal(
        key_id=row.id,
        account_id=row.account_id,
        scopes=frozenset(row.scopes.split()),
        created_by_id=row.created_by_id,
    )


# ------------------------------------------------------------------------------ rate limit


@dataclasses.dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


def _redis():
    from ctreflex.realtime import redis_url

    url = redis_url()
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=1)


def hit(*, session: Session, key_id: int, limit: int, now: float | None = None) -> RateDecision:
    """Count one request of the key in the current window; refuse over `limit`."""
    now = time.time() if now is None else now
    window = int(now // RATE_WINDOW_SECONDS) * RATE_WINDOW_SECONDS
    retry_after = max(1, int(window + RATE_WINDOW_SECONDS - now + 0.999))
    count = None
    client = _redis()
    if client is not None:
        try:
            from ctreflex.realtime import redis_key

            name = redis_key("apirate", key_id, window)  # under this deployment's prefix
            pipe = client.pipeline()
            pipe.incr(name)
            pipe.expire(name, RATE_WINDOW_SECONDS * 2)
            count = int(pipe.execute()[0])
        except Exception:  # noqa: BLE001 - Redis away: the database counts instead
            count = None
    if count is None:
        count = _db_hit(session, key_id, window)
    return RateDecision(count <= limit, limit, max(0, limit - count), retry_after)


def _db_hit(session: Session, key_id: int, window: int) -> int:
    table = ApiRateWindow.__table__
    for _ in range(3):
        done = session.execute(
            update(table)
            .where(table.c.api_key_id == key_id, table.c.window_start == window)
            .values(count=table.c.count + 1)
        )
        if done.rowcount:
            session.commit()
            break
        try:
            with session.begin_nested():
                session.execute(
                    table.insert().values(api_key_id=key_id, window_start=window, count=1)
                )
            session.commit()
            break
        except IntegrityError:
            continue  # another worker inserted the row first: count on it
    count = session.execute(
        select(table.c.count).where(table.c.api_key_id == key_id, table.c.window_start == window)
    ).scalar_one()
    if count == 1:  # a new window: forget the old ones of this key
        session.execute(
            delete(table).where(table.c.api_key_id == key_id, table.c.window_start < window)
        )
        session.commit()
    return int(count)


# ----------------------------------------------------------------------------- idempotency


class IdempotencyConflict(Exception):
    """The key was used with another request body (422), or its first request is still being
    answered (409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def fingerprint(method: str, path: str, body: Any) -> str:
    raw = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def check_idempotency_key(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ApiKeyError("The Idempotency-Key header is empty.", "Idempotency-Key")
    if len(value) > IDEMPOTENCY_KEY_MAX or not value.isprintable():
        raise ApiKeyError(
            f"An Idempotency-Key is at most {IDEMPOTENCY_KEY_MAX} printable characters.",
            "Idempotency-Key",
        )
    return value


def begin(
    *,
    session: Session,
    key_id: int,
    idem_key: str,
    fingerprint_: str,
    now: dt.datetime | None = None,
) -> tuple[int, dict] | None:
    """Claim `idem_key` for this request. None: go ahead (then call `finish`). A stored
    (status, body) when the same request was answered before. Raises IdempotencyConflict."""
    now = now or utc_now()
    session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < now - IDEMPOTENCY_TTL))
    session.commit()
    row = ApiIdempotency(api_key_id=key_id, key=idem_key, fingerprint=fingerprint_, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    old = session.exec(
        select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key_id, ApiIdempotency.key == idem_key
        )
    ).one()
    if old.fingerprint != fingerprint_:
        raise IdempotencyConflict(
            422,
            "This Idempotency-Key was already used with a different request; use a new key "
            "for a new request.",
        )
    if old.status_code is None:
        if now - old.created_at > IDEMPOTENCY_STUCK_AFTER:  # its process died mid-request
            raise IdempotencyConflict(
                409,
                "The first request with this Idempotency-Key never finished (the server "
                "stopped); it may have sent. Check the conversation's messages before sending "
                "again with a new key.",
            )
        raise IdempotencyConflict(
            409, "A request with this Idempotency-Key is still being answered; retry shortly."
        )
    return old.status_code, dict(old.response or {})


def finish(*, session: Session, key_id: int, idem_key: str, status: int, body: dict) -> None:
    """Store the answer given (a 2xx or a refusal; both are final for that request)."""
    row = session.exec(
        select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key_id, ApiIdempotency.key == idem_key
        )
    ).first()
    if row is None:
        return
    row.status_code, row.response = status, body
    session.add(row)
    session.commit()


def abandon(*, session: Session, key_id: int, idem_key: str) -> None:
    """The request failed before any answer (a bug): free the key so a retry can run."""
    session.execute(
        delete(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key_id,
            ApiIdempotency.key == idem_key,
            ApiIdempotency.status_code.is_(None),
        )
    )
    session.commit()
