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


def session_token(request: Request) -> str:
    """The session token: the HttpOnly cookie, or `Authorization: Bearer` for scripts."""
    token = request.cookies.get(routes.SESSION_COOKIE) or ""
    header = request.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    return token


def client_ip(request: Request) -> str | None:
    """The address the request came from. X-Forwarded-For counts only behind as many trusted
    proxies as Reflex's `trusted_proxy_hops` says (0 by default: the header is ignored, since
    anyone can send it)."""
    direct = request.client.host if request.client else None
    try:
        from reflex_base.config import get_config

        hops = int(get_config().trusted_proxy_hops or 0)
    except Exception:  # noqa: BLE001 - no Reflex config (a bare FastAPI app in tests)
        hops = 0
    if hops:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return direct


def current_user(request: Request, session: SessionDep) -> CurrentUser:
    user = auth.resolve(session=session, token=session_token(request))
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first.")
    return user


def admin_user(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only an admin of this account can do that.")
    return user


UserDep = Annotated[CurrentUser, Depends(current_user)]
AdminDep = Annotated[CurrentUser, Depends(admin_user)]
