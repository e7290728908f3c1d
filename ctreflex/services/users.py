"""The account's users: add agents and admins, change roles, deactivate (sessions end at once).

Every function takes the acting admin's account id: a user of another account is never found.
An account always keeps at least one active admin, and an admin cannot lock themself out.
"""

from __future__ import annotations

import dataclasses
import re

from sqlmodel import Session, col, select

from ctreflex.models import Account, Plan, Role, User
from ctreflex.services import auth

PASSWORD_MIN = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(Exception):
    """A refused change; `field` names the form field it belongs to ("" for the form)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


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
    if len(password or "") < PASSWORD_MIN:
        errors["password"] = f"Use at least {PASSWORD_MIN} characters."
    elif len(password) > auth.PASSWORD_MAX:
        errors["password"] = f"A password has at most {auth.PASSWORD_MAX} characters."
    return errors


def add_user(
    *, session: Session, account_id: int, email: str, name: str, role: str, password: str
) -> User:
    errors = validate_new_user(email, name, role, password)
    if errors:
        field, message = next(iter(errors.items()))
        raise UserError(message, field)
    email = email.strip().lower()
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise UserError("Someone already signs in with this e-mail address.", "email")
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
                User.role == Role.admin.value,
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
            user.role == Role.admin.value
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
