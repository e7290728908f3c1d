"""Log in, log out, resolve a session token to the user it belongs to, and role checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math
import secrets
from collections.abc import Collection

from pwdlib import PasswordHash
from sqlalchemy import bindparam, case, delete, func, insert, or_, tuple_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ctreflex.models import Account, AuthSession, LoginThrottle, Plan, Role, User, utc_now
from ctreflex.models._base import UTCDateTime
from ctreflex.services.crypto import token_digest
from ctreflex.settings import get_settings

_hasher = PasswordHash.recommended()  # argon2id
# An unknown e-mail is checked against this hash, so it costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

EMAIL_MAX = 254
PASSWORD_MAX = 128

# Login throttling. Failures are counted per account ("email"), per client address ("ip") and
# per (account, address) pair ("pair"). Past a counter's free failures every further attempt
# waits 2, 4, 8 … seconds after the last failure, up to DELAY_MAX; an attempt during a wait is
# refused without checking the password and does not count. Nothing ever locks for good: once
# the wait is over the right password is accepted. A counter forgets after WINDOW without
# failures. One source guessing at one account is slowed first (pair); one password sprayed
# over many e-mails from one address is slowed by the address; guesses at one account from
# many addresses by the account's own counter, whose threshold is higher so that strangers
# cannot easily keep its owner waiting.
FREE_FAILURES = {"pair": 5, "ip": 10, "email": 20, "adduser": 5}  # adduser: services/users.py
DELAY_MAX = dt.timedelta(minutes=15)
WINDOW = dt.timedelta(hours=1)
THROTTLE_MAX_ROWS = 5000  # the table is pruned to this size…
PRUNE_EVERY = 100  # …each time this process has created this many new counters

GENERIC_LOGIN_ERROR = "That e-mail and password do not match an active account."
TOO_MANY = "Too many attempts, try again in {seconds} s."


class AuthError(Exception):
    """A login refused; the message is safe to show."""


class Forbidden(Exception):
    """The signed-in user's role does not allow this."""


@dataclasses.dataclass(frozen=True)
class CurrentUser:
    """What every page and route needs to know about who is signed in."""

    user_id: int
    email: str
    name: str
    role: str
    account_id: int
    account_name: str
    plan_code: str
    plan_name: str
    whatsapp_enabled: bool
    timezone: str

    @property
    def is_admin(self) -> bool:
        """Admin of their own account (the platform operator is admin of the platform's)."""
        return self.role in (Role.admin.value, Role.operator.value)

    @property
    def is_operator(self) -> bool:
        """The platform operator: platform-wide jobs and figures."""
        return self.role == Role.operator.value


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def validate_credentials(email: str, password: str) -> dict[str, str]:
    """Field errors for the login form, before touching the database."""
    errors: dict[str, str] = {}
    email = email.strip()
    if not email:
        errors["email"] = "Enter your e-mail address."
    elif len(email) > EMAIL_MAX:
        errors["email"] = f"An e-mail address has at most {EMAIL_MAX} characters."
    elif "@" not in email:
        errors["email"] = "Enter an e-mail address like name@example.com."
    if not password:
        errors["password"] = "Enter your password."
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"A password has at most {PASSWORD_MAX} characters."
    return errors


def delay_for(kind: str, failures: int) -> dt.timedelta:
    """How long after its last failure a counter with `failures` makes the next attempt wait."""
    over = failures - FREE_FAILURES[kind]
    if over < 0:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** min(over + 1, 20)), DELAY_MAX)


def _address_key(client_ip: str) -> str:
    """An IPv6 client is counted by its /64 (one host usually holds the whole prefix)."""
    try:
        addr = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return client_ip.strip()[:64]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _throttle_keys(email: str, client_ip: str | None) -> list[tuple[str, str]]:
    keys = [("email", token_digest(f"email:{email}"))]
    address = _address_key(client_ip) if client_ip else ""
    keys.append(("pair", token_digest(f"pair:{address}:{email}")))
    if address:
        keys.append(("ip", token_digest(f"ip:{address}")))
    return keys


# Core statements on the table, built once (a failed login is a handful of cheap statements).
_T = LoginThrottle.__table__
_KEYS = tuple_(_T.c.kind, _T.c.key).in_(bindparam("p_keys", expanding=True))
_NOW = bindparam("p_now", type_=UTCDateTime())
_STALE = _T.c.last_failure_at < bindparam("p_stale_before", type_=UTCDateTime())
_WAIT_Q = sa_select(_T.c.blocked_until).where(_KEYS, _T.c.blocked_until > _NOW)
_BUMP = (
    update(_T)
    .where(_KEYS)
    .values(
        failures=case((_STALE, 1), else_=_T.c.failures + 1),
        window_start=case((_STALE, _NOW), else_=_T.c.window_start),
        last_failure_at=_NOW,
    )
)
_COUNTS = sa_select(_T.c.kind, _T.c.key, _T.c.failures).where(_KEYS)
_BLOCK = (
    update(_T)
    .where(_T.c.kind == bindparam("p_kind"), _T.c.key == bindparam("p_key"))
    .values(blocked_until=bindparam("p_until", type_=UTCDateTime()))
)


def throttle_wait(
    *, session: Session, email: str, client_ip: str | None = None, now: dt.datetime | None = None
) -> int:
    """Seconds the next login attempt for this e-mail from this address must still wait."""
    return _wait(session, _throttle_keys(email.strip().lower(), client_ip), now or utc_now())


def throttle_wait_for(
    *, session: Session, kind: str, value: str, now: dt.datetime | None = None
) -> int:
    """The same counters for another kind of guess (e.g. "adduser": refused addresses)."""
    return _wait(session, [(kind, token_digest(f"{kind}:{value}"))], now or utc_now())


def count_failure_for(
    *, session: Session, kind: str, value: str, now: dt.datetime | None = None
) -> None:
    _count_failures(session, [(kind, token_digest(f"{kind}:{value}"))], now or utc_now())


def _wait(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> int:
    rows = session.connection().execute(_WAIT_Q, {"p_keys": keys, "p_now": now}).all()
    if not rows:
        return 0
    until = max(r[0] for r in rows)
    return max(1, math.ceil((until - now).total_seconds()))


_new_rows = 0  # counters created by this process since it last pruned


def prune_throttle(*, session: Session, now: dt.datetime | None = None) -> int:
    """Drop counters past their window (and no longer waiting), then the oldest beyond
    THROTTLE_MAX_ROWS. Returns how many rows are left. Commits."""
    now = now or utc_now()
    session.exec(  # type: ignore[call-overload]
        delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < now - WINDOW,
            or_(col(LoginThrottle.blocked_until).is_(None), col(LoginThrottle.blocked_until) < now),
        )
    )
    count = session.exec(select(func.count()).select_from(LoginThrottle)).one()
    if count > THROTTLE_MAX_ROWS:
        cutoff = session.exec(
            select(LoginThrottle.last_failure_at)
            .order_by(col(LoginThrottle.last_failure_at).desc())
            .offset(THROTTLE_MAX_ROWS)
            .limit(1)
        ).first()
        if cutoff is not None:
            session.exec(  # type: ignore[call-overload]
                delete(LoginThrottle).where(col(LoginThrottle.last_failure_at) <= cutoff)
            )
        count = session.exec(select(func.count()).select_from(LoginThrottle)).one()
    session.commit()
    return count


def _count_failures(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> None:
    """One more failure on each counter, in one transaction: an atomic UPDATE (a counter past
    its window starts again at 1), new rows for the missing ones, then each counter's wait.
    Every PRUNE_EVERY new rows the table is pruned, so it never holds more than
    THROTTLE_MAX_ROWS + PRUNE_EVERY + 3 rows."""
    global _new_rows
    params = {"p_keys": keys, "p_now": now, "p_stale_before": now - WINDOW}
    for _ in range(3):
        try:
            conn = session.connection()
            conn.execute(_BUMP, params)
            counts = {(k, h): n for k, h, n in conn.execute(_COUNTS, {"p_keys": keys}).all()}
            new = [
                {"kind": k, "key": h, "failures": 1, "window_start": now, "last_failure_at": now}
                for k, h in keys
                if (k, h) not in counts
            ]
            if new:
                conn.execute(insert(_T), new)
            blocks = [
                {"p_kind": k, "p_key": h, "p_until": now + delay_for(k, n)}
                for (k, h), n in counts.items()
                if delay_for(k, n)
            ]
            if blocks:
                conn.execute(_BLOCK, blocks)
            session.commit()
        except IntegrityError:  # another attempt created one of them at the same moment
            session.rollback()
            continue
        _new_rows += len(new)
        if _new_rows >= PRUNE_EVERY:
            _new_rows = 0
            prune_throttle(session=session, now=now)
        return


def login(
    *,
    session: Session,
    email: str,
    password: str,
    now: dt.datetime | None = None,
    client_ip: str | None = None,
) -> str:
    """Check the password and open a session. Returns the new session token (shown once).

    Refused with AuthError: a wrong password, an unknown or inactive user (one message, the same
    time: an unknown e-mail is checked against a dummy hash), or any attempt during a throttle
    wait ("Too many attempts, try again in N s", whether the e-mail exists or not).
    """
    now = now or utc_now()
    email = email.strip().lower()
    if validate_credentials(email, password):
        raise AuthError(GENERIC_LOGIN_ERROR)
    wait = throttle_wait(session=session, email=email, client_ip=client_ip, now=now)
    if wait:
        raise AuthError(TOO_MANY.format(seconds=wait))
    user = session.exec(select(User).where(User.email == email)).first()
    ok = _hasher.verify(password, user.password_hash if user else _DUMMY_HASH)
    if not ok or user is None or not user.active:
        _count_failures(session, _throttle_keys(email, client_ip), now)
        raise AuthError(GENERIC_LOGIN_ERROR)
    # The right password: this account's counters start again; the address keeps its own (one
    # good login of the attacker's own must not reset a spray).
    for kind, key in _throttle_keys(email, client_ip):
        if kind != "ip":
            session.connection().execute(delete(_T).where(_T.c.kind == kind, _T.c.key == key))
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=get_settings().session_hours),
        )
    )
    user.last_login_at = now
    session.commit()
    return token


def logout(*, session: Session, token: str) -> None:
    if not token:
        return
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_digest(token))
    ).first()
    if row and row.revoked_at is None:
        row.revoked_at = utc_now()
        session.commit()


def end_sessions_for_user(*, session: Session, user_id: int) -> int:
    """Revoke every open session of a user (deactivation, role change)."""
    now = utc_now()
    rows = session.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
    session.commit()
    return len(rows)


def resolve(
    *, session: Session, token: str | None, now: dt.datetime | None = None
) -> CurrentUser | None:
    """The user a session token belongs to, or None when it is unknown, expired or revoked."""
    if not token or len(token) > 200:
        return None
    now = now or utc_now()
    row = session.exec(
        select(AuthSession, User, Account, Plan)
        .join(User, User.id == AuthSession.user_id)
        .join(Account, Account.id == User.account_id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(AuthSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    auth, user, account, plan = row
    if auth.revoked_at is not None or auth.expires_at <= now or not user.active:
        return None
    return CurrentUser(
        user_id=user.id,
        email=user.email,
        name=user.name or user.email,
        role=user.role,
        account_id=account.id,
        account_name=account.name,
        plan_code=plan.code,
        plan_name=plan.name,
        whatsapp_enabled=plan.whatsapp_included and account.early_access,
        timezone=account.timezone,
    )


def session_alive(
    *, session: Session, token: str | None, user_id: int, now: dt.datetime | None = None
) -> bool:
    """Whether the token is still a live sign-in of this user: what `resolve` checks of the
    session and the user, as one row of three columns (the live listener asks it for each
    update it pushes to a tab)."""
    if not token or len(token) > 200 or not user_id:
        return False
    row = session.exec(
        select(AuthSession.revoked_at, AuthSession.expires_at, User.active)
        .join(User, User.id == AuthSession.user_id)
        .join(Account, Account.id == User.account_id)
        .where(AuthSession.token_hash == token_digest(token), AuthSession.user_id == user_id)
    ).first()
    if row is None:
        return False
    revoked_at, expires_at, active = row
    return revoked_at is None and expires_at > (now or utc_now()) and bool(active)


def live_sessions(
    *, session: Session, digests: Collection[str], now: dt.datetime | None = None
) -> set[tuple[str, int]]:
    """(token digest, user id) of those sessions that are still live sign-ins (what
    `session_alive` checks), one query for many: the live listener checks every open tab of an
    account this way once per update instead of once per tab."""
    if not digests:
        return set()
    rows = session.exec(
        select(AuthSession.token_hash, AuthSession.user_id)
        .join(User, User.id == AuthSession.user_id)
        .join(Account, Account.id == User.account_id)
        .where(
            col(AuthSession.token_hash).in_(sorted(digests)),
            col(AuthSession.revoked_at).is_(None),
            AuthSession.expires_at > (now or utc_now()),
            col(User.active).is_(True),
        )
    ).all()
    return {(digest, user_id) for digest, user_id in rows}


def require_admin(user: CurrentUser | None) -> CurrentUser:
    if user is None:
        raise Forbidden("Sign in first.")
    if not user.is_admin:
        raise Forbidden("Only an admin of this account can do that.")
    return user


def require_operator(user: CurrentUser | None) -> CurrentUser:
    if user is None:
        raise Forbidden("Sign in first.")
    if not user.is_operator:
        raise Forbidden("Only the platform operator can do that.")
    return user
