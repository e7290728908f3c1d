"""Signing in and out (the session cookie is set and cleared here, by the server), who am I,
and the admin read routes (role checked on the server)."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ctreflex import db, routes
from ctreflex.api.deps import AdminDep, SessionDep, UserDep, client_ip, session_token
from ctreflex.api.security import allowed_origins, request_origin
from ctreflex.services import admin, auth
from ctreflex.settings import get_settings

router = APIRouter()

FORM_LIMITS = {"max_files": 0, "max_fields": 20, "max_part_size": 4096}


def cookie_is_secure() -> bool:
    return get_settings().base_url.lower().startswith("https://")


def _same_origin_or_allowed(request: Request) -> bool:
    """A browser always sends Origin on a form POST: it must be one of ours (the public URL's
    or CTREFLEX_ALLOWED_ORIGINS). No Origin at all is a non-browser client, which CSRF cannot
    use."""
    origin = request.headers.get("origin")
    return origin is None or origin in allowed_origins()


def _back_to(request: Request, path: str) -> str:
    """Where to send the browser next: the origin the form was posted from when that is one of
    ours but not this one (make dev: pages on one port, routes on another), else this one."""
    origin = request.headers.get("origin")
    if origin and origin != request_origin(request) and origin in allowed_origins():
        return origin + path
    return path


def _login_again(request: Request, email: str, notice: dict[str, str]) -> RedirectResponse:
    from ctreflex.state.auth import sign

    raw = json.dumps({k: v for k, v in notice.items() if v}, separators=(",", ":"))
    query = urlencode({"email": email[: auth.EMAIL_MAX], "notice": raw, "sig": sign(raw)})
    return RedirectResponse(_back_to(request, f"{routes.LOGIN}?{query}"), status_code=303)


def _login(email: str, password: str, ip: str | None) -> str:
    with db.session_scope() as session:
        return auth.login(session=session, email=email, password=password, client_ip=ip)


@router.post("/auth/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """The login form's target: 303 to the inbox with the HttpOnly session cookie set, or 303
    back to the login page with the e-mail kept and the reason shown there."""
    if not _same_origin_or_allowed(request):
        return PlainTextResponse("Sign-in from another site is refused.", status_code=403)
    try:
        form = await request.form(**FORM_LIMITS)
    except Exception:  # noqa: BLE001 - not a form, or over the limits
        form = {}
    email = form.get("email", "")
    password = form.get("password", "")
    email = email.strip() if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    errors = auth.validate_credentials(email, password)
    if errors:
        return _login_again(request, email, errors)
    try:
        token = await run_in_threadpool(_login, email, password, client_ip(request))
    except auth.AuthError as exc:
        return _login_again(request, email, {"form": str(exc)})
    response = RedirectResponse(_back_to(request, routes.INBOX), status_code=303)
    response.set_cookie(
        routes.SESSION_COOKIE,
        token,
        max_age=get_settings().session_hours * 3600,
        path="/",
        httponly=True,  # no script can read it (an injected one included)
        secure=cookie_is_secure(),
        samesite="lax",  # sent on links from e-mail; never on another site's POST or fetch
    )
    return response


def _logout(token: str) -> None:
    with db.session_scope() as session:
        auth.logout(session=session, token=token)


@router.post("/auth/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    """End the session (revoked in the database, so every tab and worker sees it at once),
    clear the cookie, and 303 to the login page."""
    if not _same_origin_or_allowed(request):
        return PlainTextResponse("Sign-out from another site is refused.", status_code=403)
    token = session_token(request)
    if token:
        await run_in_threadpool(_logout, token)
    response = RedirectResponse(_back_to(request, routes.LOGIN), status_code=303)
    response.delete_cookie(
        routes.SESSION_COOKIE, path="/", httponly=True, secure=cookie_is_secure(), samesite="lax"
    )
    return response


@router.get("/api/me")
def me(user: UserDep) -> dict:
    return dataclasses.asdict(user) | {"is_admin": user.is_admin}


@router.get("/api/admin/numbers")
def numbers(user: AdminDep, session: SessionDep) -> list[dict]:
    return [
        dataclasses.asdict(n)
        for n in admin.list_numbers(session=session, account_id=user.account_id)
    ]


@router.get("/api/admin/users")
def users(user: AdminDep, session: SessionDep) -> list[dict]:
    return [
        dataclasses.asdict(u) for u in admin.list_users(session=session, account_id=user.account_id)
    ]
