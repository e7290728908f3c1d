"""Who is signed in. The browser holds only a random session token in an HttpOnly cookie set by
`POST /auth/login` (ctreflex/api/account.py); the state reads it on the server from the
websocket's handshake headers, so identity never comes from an event argument and no script
can read the token.

`SessionGuard` (an app middleware, registered in ctreflex/ctreflex.py) re-checks the session in
the database before every event: a tab whose session ended (logout anywhere, expiry,
deactivation, role change) gets its user states cleared and is sent to the login page; its
handlers never run."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.config import get_config
from reflex_base.event.processor.base_state_processor import chain_updates
from starlette.requests import cookie_parser

from ctreflex import db, routes
from ctreflex.services import auth
from ctreflex.services.auth import CurrentUser

log = logging.getLogger("ctreflex.auth")

ADMIN_ONLY_NOTICE = "That page is for admins of the account."


def backend_url(path: str) -> str:
    """Where the browser posts forms: the page's own origin when one port serves pages and
    routes (make run, production); the backend's URL when they differ (make dev)."""
    config = get_config()
    if str(config.frontend_port or "") == str(config.backend_port or ""):
        return path
    return config.api_url.rstrip("/") + path


def token_from_cookie_header(cookie_header: str | None) -> str:
    """The session token in a Cookie header ("" when absent or malformed)."""
    if not cookie_header:
        return ""
    try:
        return cookie_parser(cookie_header).get(routes.SESSION_COOKIE, "") or ""
    except Exception:  # noqa: BLE001 - a malformed header is no session
        return ""


def session_key(token: str) -> str:
    """What a tab's state remembers of the session its data belongs to (never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32] if token else ""


def resolve_token(token: str) -> CurrentUser | None:
    if not token:
        return None
    with db.session_scope() as session:
        return auth.resolve(session=session, token=token)


class AuthState(rx.State):
    user_name: str = ""
    user_email: str = ""
    role: str = ""
    account_name: str = ""
    plan_name: str = ""
    whatsapp_enabled: bool = False
    timezone: str = "UTC"
    checked: bool = False
    # the session this tab's data was loaded under (a digest); SessionGuard clears the tab's
    # user states when the cookie's session is no longer this one
    _session_key: str = ""

    @property
    def session_token(self) -> str:
        """The token from the cookie the tab's websocket was opened with (server side only)."""
        return token_from_cookie_header(self.router.headers.cookie)

    def _current_user(self) -> CurrentUser | None:
        """Resolve the cookie's token now (sessions end at once when revoked)."""
        return resolve_token(self.session_token)

    def _signed_in_as(self, user_id: int) -> bool:
        """Whether the cookie's session is still a live sign-in of `user_id`: one small query,
        what the live listener checks before it applies each update to the tab."""
        with db.session_scope() as session:
            return auth.session_alive(session=session, token=self.session_token, user_id=user_id)

    def _admin(self) -> CurrentUser | None:
        """The signed-in user if their role (read from the database now) is admin of the account
        or the platform operator; None for an agent, a signed-out tab or anyone else. Every admin
        handler starts here (pages/admin.admin_user, pages/admin_action.admin_action)."""
        user = self._current_user()
        try:
            return auth.require_admin(user)
        except auth.Forbidden:
            return None

    def _apply(self, user: CurrentUser | None) -> None:
        values = {
            "user_name": user.name if user else "",
            "user_email": user.email if user else "",
            "role": user.role if user else "",
            "account_name": user.account_name if user else "",
            "plan_name": user.plan_name if user else "",
            "whatsapp_enabled": user.whatsapp_enabled if user else False,
            "timezone": user.timezone if user else "UTC",
            "checked": user is not None,
        }
        for name, value in values.items():
            if getattr(self, name) != value:  # unchanged values send no delta
                setattr(self, name, value)

    @rx.var
    def is_admin(self) -> bool:
        return self.role in ("admin", "operator")  # the operator administers its own account

    @rx.var
    def initials(self) -> str:
        parts = [p for p in self.user_name.replace("@", " ").split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @rx.event
    def require_login(self):
        user = self._current_user()
        self._apply(user)
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)

    @rx.event
    def open_home(self):
        """The site root: the inbox when signed in, else the login page."""
        user = self._current_user()
        self._apply(user)
        return rx.redirect(routes.INBOX if user else routes.LOGIN, replace=True)

    @rx.event
    def require_admin(self):
        """On admin pages: anonymous -> the login page; a user whose role is not admin (or
        operator) -> the inbox, with a notice. The role is read from the database now, not from
        the tab's `role` var (a browser can set public vars)."""
        user = self._current_user()
        self._apply(user)
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        try:
            auth.require_admin(user)
        except auth.Forbidden:
            return [
                rx.redirect(routes.INBOX, replace=True),
                rx.toast.info(ADMIN_ONLY_NOTICE, id="admin-only-notice"),
            ]

    @rx.event
    async def logout(self):
        """End the session this tab was opened with and clear the tab. (The page's "Log out"
        posts to /auth/logout, which also clears the cookie; this is the event-only path.)"""
        token = self.session_token
        if token:
            with db.session_scope() as session:
                auth.logout(session=session, token=token)
        await reset_user_states(self._get_root_state())
        return rx.redirect(routes.LOGIN, replace=True)


# ---------------------------------------------------------------------------- the guard

# (state class, handler name) pairs that run without a session: they only redirect or show the
# sign-in form. Everything else of AuthState and its substates needs a live session.
_ANONYMOUS: set[tuple[type[BaseState], str]] = {
    (AuthState, "require_login"),
    (AuthState, "open_home"),
    (AuthState, "require_admin"),
    (AuthState, "logout"),
}


def allow_anonymous(state_cls: type[BaseState], handler: str) -> None:
    """Let `handler` of `state_cls` run without a session (the login page's on_load)."""
    if handler not in state_cls.event_handlers:
        raise ValueError(f"{state_cls.__name__} has no event handler {handler!r}")
    _ANONYMOUS.add((state_cls, handler))


def _user_state_classes() -> list[type[BaseState]]:
    found: list[type[BaseState]] = []
    todo: list[type[BaseState]] = [AuthState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


async def reset_user_states(root: BaseState) -> None:
    """Forget everything the tab's user states hold (rows, ids, names): AuthState and every
    substate back to their defaults, also those not loaded yet (a Redis state manager)."""
    for cls in _user_state_classes():
        await root.get_state(cls)
    auth_state = await root.get_state(AuthState)
    auth_state.reset()


def _target(root: BaseState, event_name: str) -> tuple[type[BaseState], str] | None:
    path, _, handler = event_name.rpartition(".")
    try:
        return type(root).get_class_substate(path), handler
    except ValueError:
        return None


def _needs_session(target: tuple[type[BaseState], str] | None) -> bool:
    if target is None:
        return True  # unknown: let nothing through without a session
    cls, handler = target
    if (cls, handler) in _ANONYMOUS:
        return False
    if issubclass(cls, AuthState):
        return True
    # Reflex's own states (hydrate, on_load_internal, update vars, frontend errors) carry no
    # user data; any other app state would, so it needs a session too.
    return not cls.__module__.startswith("reflex")


class SessionGuard(Middleware):
    """Before every event: resolve the socket's session cookie in the database (one indexed
    query; no cache, so a logout or deactivation on any worker counts at once)."""

    async def preprocess(self, app: Any, state: BaseState, event: Any) -> StateUpdate | None:
        root = state._get_root_state()
        token = token_from_cookie_header(root.router.headers.cookie)
        try:
            user = resolve_token(token)
        except Exception:  # noqa: BLE001 - no database, no data: fail closed
            log.exception("session check failed; event %s refused", event.name)
            user = None
        # the role is part of the key: data loaded with an admin's rights is not kept for an
        # agent (roles are read from the database on every event, sessions survive a change)
        key = f"{session_key(token)}/{user.user_id}/{user.role}" if user is not None else ""
        auth_state = await root.get_state(AuthState)
        switched = bool(auth_state._session_key) and auth_state._session_key != key
        if switched:
            # signed out, expired, deactivated, demoted, or another user in this tab: nothing
            # of the previous session may be shown or answered again
            await reset_user_states(root)
        if user is not None and auth_state._session_key != key:
            auth_state._session_key = key
        target = _target(root, event.name)
        if not _needs_session(target):
            return None
        if user is not None and not switched:
            return None
        # no session: to the login page; a changed one mid-page: the page loads again from
        # the inbox (its on_load fills the states afresh). Either way this handler never runs.
        await chain_updates(
            rx.redirect(routes.LOGIN if user is None else routes.INBOX, replace=True),
            handler_name="SessionGuard",
            root_state=root,
        )
        return StateUpdate()  # not None: the handler does not run


def sign(value: str) -> str:
    """A short MAC of a message the server puts in a URL (the login page's error text)."""
    from ctreflex.settings import get_settings

    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, b"login-notice:" + value.encode(), hashlib.sha256).hexdigest()[:24]


def verify(value: str, signature: str) -> bool:
    return bool(value) and hmac.compare_digest(sign(value), signature or "")
