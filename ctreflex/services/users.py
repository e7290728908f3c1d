"""The account's users: add agents and admins, change roles, deactivate (sessions end at once).

Every function takes the acting admin's account id: a user of another account is never found.
An account always keeps at least one active admin, and an admin cannot lock themself out.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

from sqlmodel import Session, col, select

from ctreflex.models import Account, Plan, Role, User
from ctreflex.services import auth
from ctreflex.services.errors import UserFacingError

PASSWORD_MIN = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING = re.compile(r"[\d\W_]+$")

# Global e-mail uniqueness stays (a login is an e-mail and a password, nothing else), so an
# address already used in another account cannot be added. The refusal names no account and is
# the same whoever holds the address; repeated refusals slow the admin down (services/auth.py's
# counters, kind "adduser") so that "Add user" is no tool to map other tenants' addresses.
ADDRESS_UNAVAILABLE = (
    "This address can't be added. Ask the person to use another address, or contact support."
)

PLATFORM_ACCOUNT = "CT Text platform"


class UserError(UserFacingError):
    """A refused change; `field` names the form field it belongs to ("" for the form)."""


@dataclasses.dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    role: str
    active: bool
    last_login: str
    is_you: bool


def list_users(
    *, session: Session, account_id: int, viewer_id: int | None = None, fmt=None
) -> list[UserRow]:
    rows = session.exec(
        select(User)
        .where(User.account_id == account_id)
        .order_by(col(User.active).desc(), User.email)
    ).all()
    return [
        UserRow(
            id=u.id,
            name=u.name or u.email,
            email=u.email,
            role=u.role,
            active=u.active,
            last_login=(fmt(u.last_login_at) if fmt else u.last_login_at.isoformat())
            if u.last_login_at
            else "Never",
            is_you=u.id == viewer_id,
        )
        for u in rows
    ]


def seats(*, session: Session, account_id: int) -> tuple[int, int]:
    """(active users, seats the plan allows)."""
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id)
    active = len(
        session.exec(select(User.id).where(User.account_id == account_id, User.active)).all()
    )
    return active, plan.seats


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def password_problem(password: str, email: str = "") -> str:
    """Why a new password is refused ("" when it is fine): too short or long, a common password
    (also with digits or symbols added at the end), or the person's own e-mail name in it."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > auth.PASSWORD_MAX:
        return f"A password has at most {auth.PASSWORD_MAX} characters."
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or _TRAILING.sub("", lowered) in common:
        return "This password is one of the most common ones. Choose a less guessable one."
    local = (email or "").strip().lower().split("@", 1)[0]
    if len(local) >= 3 and local in lowered:
        return "The password must not contain the e-mail address's name. Choose another one."
    return ""


def validate_new_user(email: str, name: str, role: str, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    if not email:
        errors["email"] = "Enter the person's e-mail address."
    elif len(email) > auth.EMAIL_MAX or not _EMAIL.match(email):
        errors["email"] = "Enter an e-mail address like name@example.com."
    if not (name or "").strip():
        errors["name"] = "Enter the person's name."
    elif len(name.strip()) > 120:
        errors["name"] = "A name has at most 120 characters."
    if role not in (Role.agent.value, Role.admin.value):
        errors["role"] = "Pick Agent or Admin."
    problem = password_problem(password, email if "email" not in errors else "")
    if problem:
        errors["password"] = problem
    return errors


def add_user(
    *, session: Session, account_id: int, email: str, name: str, role: str, password: str
) -> User:
    errors = validate_new_user(email, name, role, password)
    if errors:
        field, message = next(iter(errors.items()))
        raise UserError(message, field)
    email = email.strip().lower()
    _refuse_taken_address(session, account_id, email)
    active, allowed = seats(session=session, account_id=account_id)
    if active >= allowed:
        raise UserError(
            f"All {allowed} seats of your plan are in use. Deactivate a user or change plan.", ""
        )
    user = User(
        account_id=account_id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=auth.hash_password(password),
    )
    session.add(user)
    session.commit()
    return user


def _refuse_taken_address(session: Session, account_id: int, email: str) -> None:
    """An address of this account is named as such (the admin sees their own users); one held
    anywhere else gets the neutral ADDRESS_UNAVAILABLE, and refusals are counted."""
    wait = auth.throttle_wait_for(session=session, kind="adduser", value=str(account_id))
    if wait:
        raise UserError(f"Too many addresses were refused; try again in {wait} s.", "email")
    holder = session.exec(select(User.account_id).where(User.email == email)).first()
    if holder is None:
        return
    if holder == account_id:
        raise UserError(
            "Someone in your account already signs in with this e-mail address.", "email"
        )
    auth.count_failure_for(session=session, kind="adduser", value=str(account_id))
    raise UserError(ADDRESS_UNAVAILABLE, "email")


def set_password(*, session: Session, account_id: int, user_id: int, password: str) -> User:
    """A new password for a user of this account, under the same rules as a new user's; the
    user's other sessions end."""
    user = _own(session, account_id, user_id)
    problem = password_problem(password, user.email)
    if problem:
        raise UserError(problem, "password")
    user.password_hash = auth.hash_password(password)
    session.add(user)
    session.commit()
    auth.end_sessions_for_user(session=session, user_id=user.id)
    return user


def add_operator(*, session: Session, email: str, password: str, name: str = "") -> User:
    """Create (or reset the password of) a platform operator: role "operator" in the platform
    account, which is created on first use. Under the same password rules as everyone."""
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > auth.EMAIL_MAX:
        raise UserError("Enter an e-mail address like name@example.com.", "email")
    problem = password_problem(password, email)
    if problem:
        raise UserError(problem, "password")
    account = session.exec(select(Account).where(Account.name == PLATFORM_ACCOUNT)).first()
    if account is None:
        plan = session.exec(select(Plan).order_by(col(Plan.seats).desc())).first()
        if plan is None:
            raise UserError("No plans yet: run `python -m ctreflex.cli seed` first.")
        account = Account(name=PLATFORM_ACCOUNT, plan_id=plan.id)
        session.add(account)
        session.flush()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and user.account_id != account.id:
        raise UserError("This address signs in to a customer account; use another one.", "email")
    if user is None:
        user = User(account_id=account.id, email=email, name=name.strip() or email)
    user.role = Role.operator.value
    user.active = True
    user.password_hash = auth.hash_password(password)
    session.add(user)
    session.commit()
    if user.id is not None:
        auth.end_sessions_for_user(session=session, user_id=user.id)
    return user


def _own(session: Session, account_id: int, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.account_id != account_id:
        raise UserError("This user is not in your account.")
    return user


def _other_active_admins(session: Session, account_id: int, user_id: int) -> int:
    return len(
        session.exec(
            select(User.id).where(
                User.account_id == account_id,
                col(User.role).in_([Role.admin.value, Role.operator.value]),
                User.active,
                User.id != user_id,
            )
        ).all()
    )


def change_role(
    *, session: Session, account_id: int, actor_id: int, user_id: int, role: str
) -> User:
    if role not in (Role.agent.value, Role.admin.value):
        raise UserError("Pick Agent or Admin.", "role")
    user = _own(session, account_id, user_id)
    if user.role == role:
        return user
    if user.id == actor_id:
        raise UserError("You cannot change your own role; ask another admin.")
    if role == Role.agent.value and _other_active_admins(session, account_id, user.id) == 0:
        raise UserError("The account needs at least one active admin.")
    user.role = role
    session.add(user)
    session.commit()
    # the role is read from the database on every event; sessions stay valid
    return user


def set_active(
    *, session: Session, account_id: int, actor_id: int, user_id: int, active: bool
) -> User:
    user = _own(session, account_id, user_id)
    if user.active == active:
        return user
    if not active:
        if user.id == actor_id:
            raise UserError("You cannot deactivate yourself; ask another admin.")
        if (
            user.role in (Role.admin.value, Role.operator.value)
            and _other_active_admins(session, account_id, user.id) == 0
        ):
            raise UserError("The account needs at least one active admin.")
    else:
        used, allowed = seats(session=session, account_id=account_id)
        if used >= allowed:
            raise UserError(f"All {allowed} seats of your plan are in use.")
    user.active = active
    session.add(user)
    session.commit()
    if not active:
        auth.end_sessions_for_user(session=session, user_id=user.id)
    return user
