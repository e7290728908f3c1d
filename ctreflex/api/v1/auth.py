"""Who is calling /api/v1: `Authorization: Bearer <API key>` (never the session cookie, so a
page of another site can never call the API with a signed-in user's browser), the key's scope
checked per route, and the per-key rate limit (429 with Retry-After)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from ctreflex import db
from ctreflex.api.v1.problems import Problem
from ctreflex.services import api_keys
from ctreflex.services.api_keys import ApiPrincipal
from ctreflex.settings import get_settings


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Problem(
            401,
            "Send your API key as `Authorization: Bearer <key>` (an admin creates keys on "
            "Admin › API keys).",
            field="Authorization",
            kind="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="ctreflex"'},
        )
    return value.strip()


def _principal(key: str) -> tuple[ApiPrincipal | None, api_keys.RateDecision | None]:
    with db.session_scope() as session:
        principal = api_keys.authenticate(session=session, key=key)
        if principal is None:
            return None, None
        decision = api_keys.hit(
            session=session, key_id=principal.key_id, limit=get_settings().api_rate_limit
        )
        return principal, decision


def principal(request: Request) -> ApiPrincipal:
    """Runs in the thread pool (a plain def dependency): the key is looked up in the database,
    so a revoked key stops working at once on every worker."""
    found, decision = _principal(_bearer(request))
    if found is None:
        raise Problem(
            401,
            "This API key is unknown or was revoked.",
            field="Authorization",
            kind="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="ctreflex", error="invalid_token"'},
        )
    if decision is not None and not decision.allowed:
        raise Problem(
            429,
            f"More than {decision.limit} requests in a minute with this key; retry in "
            f"{decision.retry_after} s.",
            kind="rate-limited",
            headers={
                "Retry-After": str(decision.retry_after),
                "RateLimit-Limit": str(decision.limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(decision.retry_after),
            },
        )
    request.state.api_principal = found
    return found


def require(scope: str):
    def check(p: Annotated[ApiPrincipal, Depends(principal)]) -> ApiPrincipal:
        if not p.allows(scope):
            raise Problem(
                403,
                f"This API key lacks the {scope!r} scope (it has: {' '.join(sorted(p.scopes))}).",
                field="scope",
                kind="insufficient-scope",
            )
        return p

    return check


def get_session():
    with db.session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
ReadKey = Annotated[ApiPrincipal, Depends(require("read"))]
SendKey = Annotated[ApiPrincipal, Depends(require("send"))]
AdminKey = Annotated[ApiPrincipal, Depends(require("admin"))]
