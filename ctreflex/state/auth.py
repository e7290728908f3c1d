"""Who is signed in. The browser holds only a random session token (a cookie); every event
resolves it on the server, so identity never comes from an event argument."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.services import auth
from ctreflex.services.auth import CurrentUser


class AuthState(rx.State):
    session_token: str = rx.Cookie("", name=routes.SESSION_COOKIE, same_site="strict")
    user_name: str = ""
    user_email: str = ""
    role: str = ""
    account_name: str = ""
    plan_name: str = ""
    whatsapp_enabled: bool = False
    timezone: str = "UTC"
    checked: bool = False

    def current_user(self) -> CurrentUser | None:
        """Resolve the cookie's token now (sessions end at once when revoked)."""
        with db.session_scope() as session:
            return auth.resolve(session=session, token=self.session_token)

    def _apply(self, user: CurrentUser | None) -> None:
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.role = user.role if user else ""
        self.account_name = user.account_name if user else ""
        self.plan_name = user.plan_name if user else ""
        self.whatsapp_enabled = user.whatsapp_enabled if user else False
        self.timezone = user.timezone if user else "UTC"
        self.checked = user is not None

    @rx.var
    def is_admin(self) -> bool:
        return self.role in ("admin", "operator")  # the operator administers its own account

    @rx.var
    def initials(self) -> str:
        parts = [p for p in self.user_name.replace("@", " ").split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @rx.event
    def require_login(self):
        user = self.current_user()
        self._apply(user)
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)

    @rx.event
    def require_admin(self):
        user = self.current_user()
        self._apply(user)
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)

    @rx.event
    def logout(self):
        with db.session_scope() as session:
            auth.logout(session=session, token=self.session_token)
        self.session_token = ""
        self._apply(None)
        return rx.redirect(routes.LOGIN, replace=True)
