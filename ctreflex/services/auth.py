"""Log in, log out, resolve a session token to the user it belongs to, and role checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

from pwdlib import PasswordHash
from sqlmodel import Session, select

from ctreflex.models import Account, AuthSession, LoginThrottle, Plan, Role, User, utc_now
from ctreflex.services.crypto import token_digest
from ctreflex.settings import get_settings

_hasher = PasswordHash.recommended()  # argon2id
_DUMMY_HASH = _hasher.hash("not-a-real-password")

EMAIL_MAX = 254
PASSWORD_MAX = 128
FREE_FAILURES = 5  # wrong passwords before slowing down
LOCK_BASE_SECONDS = 15  # then 15 s, 30 s, 60 s … up to LOCK_MAX_SECONDS
LOCK_MAX_SECONDS = 15 * 60

GENERIC_LOGIN_ERROR = "That e-mail and password do not match an active account."


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
        return self.role == Role.admin.value


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


def _throttle(session: Session, email: str) -> LoginThrottle:
    row = session.get(LoginThrottle, email)
    if row is None:
        row = LoginThrottle(email=email)
        session.add(row)
    return row


def login(*, session: Session, email: str, password: str, now: dt.datetime | None = None) -> str:
    """Check the password and open a session. Returns the new session token (shown once)."""
    now = now or utc_now()
    email = email.strip().lower()
    if validate_credentials(email, password):
        raise AuthError(GENERIC_LOGIN_ERROR)
    throttle = _throttle(session, email)
    if throttle.locked_until and throttle.locked_until > now:
        wait = int((throttle.locked_until - now).total_seconds()) + 1
        raise AuthError(f"Too many failed attempts. Try again in {wait} seconds.")
    user = session.exec(select(User).where(User.email == email)).first()
    ok = _hasher.verify(password, user.password_hash if user else _DUMMY_HASH)
    if not ok or user is None or not user.active:
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= FREE_FAILURES:
            extra = throttle.failures - FREE_FAILURES
            seconds = min(LOCK_BASE_SECONDS * 2**extra, LOCK_MAX_SECONDS)
            throttle.locked_until = now + dt.timedelta(seconds=seconds)
        session.commit()
        raise AuthError(GENERIC_LOGIN_ERROR)
    throttle.failures = 0
    throttle.locked_until = None
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


def require_admin(user: CurrentUser | None) -> CurrentUser:
    if user is None:
        raise Forbidden("Sign in first.")
    if not user.is_admin:
        raise Forbidden("Only an admin of this account can do that.")
    return user
