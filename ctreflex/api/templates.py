"""Template routes: the catalogue (agents and admins) and a manual sync (admins only)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Query

from ctreflex.api.deps import AdminDep, SessionDep, UserDep
from ctreflex.services import templates

router = APIRouter(prefix="/api/templates", tags=["templates"])


@router.get("")
def list_templates(
    user: UserDep,
    session: SessionDep,
    q: str = Query(default="", max_length=200),
    status: str = Query(default="", max_length=32),
    category: str = Query(default="", max_length=32),
    language: str = Query(default="", max_length=16),
) -> list[dict]:
    rows = templates.list_templates(
        session=session,
        account_id=user.account_id,
        search=q,
        status=status,
        category=category,
        language=language,
    )
    return [dataclasses.asdict(r) for r in rows]


@router.post("/sync")
async def sync(user: AdminDep) -> dict:
    """Fetch the account's templates from Meta now (the role is checked by AdminDep)."""
    result = await templates.sync_account_templates(user.account_id)
    return {
        "added": result.added,
        "updated": result.updated,
        "removed": result.removed,
        "unchanged": result.unchanged,
        "errors": result.errors,
        "message": result.message,
    }
