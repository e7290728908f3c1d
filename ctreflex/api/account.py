"""Who am I, and the admin read routes (role checked on the server)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter

from ctreflex.api.deps import AdminDep, SessionDep, UserDep
from ctreflex.services import admin

router = APIRouter(prefix="/api")


@router.get("/me")
def me(user: UserDep) -> dict:
    return dataclasses.asdict(user) | {"is_admin": user.is_admin}


@router.get("/admin/numbers")
def numbers(user: AdminDep, session: SessionDep) -> list[dict]:
    return [
        dataclasses.asdict(n)
        for n in admin.list_numbers(session=session, account_id=user.account_id)
    ]


@router.get("/admin/users")
def users(user: AdminDep, session: SessionDep) -> list[dict]:
    return [
        dataclasses.asdict(u) for u in admin.list_users(session=session, account_id=user.account_id)
    ]
