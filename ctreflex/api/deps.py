"""Dependencies: the database session and the signed-in user, resolved from the cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from ctreflex import db, routes
from ctreflex.services import auth
from ctreflex.services.auth import CurrentUser


def get_session() -> Iterator[Session]:
    with db.session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(request: Request, session: SessionDep) -> CurrentUser:
    token = request.cookies.get(routes.SESSION_COOKIE) or ""
    header = request.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:]
    user = auth.resolve(session=session, token=token)
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first.")
    return user


def admin_user(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only an admin of this account can do that.")
    return user


UserDep = Annotated[CurrentUser, Depends(current_user)]
AdminDep = Annotated[CurrentUser, Depends(admin_user)]
