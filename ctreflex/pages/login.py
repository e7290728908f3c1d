"""Sign in. The form posts to `POST /auth/login` (ctreflex/api/account.py), which sets the
HttpOnly session cookie and answers 303 to the inbox, or back here with the e-mail kept and a
signed notice (so nobody can make this page say something of their own by sending a link)."""

from __future__ import annotations

import json

import reflex as rx

from ctreflex import routes
from ctreflex.state.auth import AuthState, allow_anonymous, backend_url, resolve_token, verify


class LoginState(AuthState):
    email_error: str = ""
    password_error: str = ""
    form_error: str = ""

    @rx.event
    def on_load(self):
        if resolve_token(self.session_token) is not None:
            return rx.redirect(routes.INBOX, replace=True)
        params = self.router.url.query_parameters
        notice = {}
        raw = params.get("notice", "")
        if raw and verify(raw, params.get("sig", "")):
            try:
                notice = json.loads(raw)
            except ValueError:
                notice = {}
        if not isinstance(notice, dict):
            notice = {}
        self.form_error = str(notice.get("form", ""))[:300]
        self.email_error = str(notice.get("email", ""))[:300]
        self.password_error = str(notice.get("password", ""))[:300]
        if not params:
            return None
        # The e-mail comes back in the field (unless the user has typed already: the fields
        # are the browser's own, so typing before this arrives is never lost), and the notice
        # is shown once: a reload or a shared link shows a clean form.
        email = json.dumps(str(params.get("email", ""))[:254])
        return rx.call_script(
            "window.history.replaceState(window.history.state, '', '/login');"
            "const field = document.getElementById('email');"
            f"if (field && !field.value) field.value = {email};"
        )


allow_anonymous(LoginState, "on_load")


def _field(label: str, name: str, error, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"fontWeight": 500, "fontSize": "0.9rem"}),
        rx.input(
            id=name,
            name=name,
            size="3",
            width="100%",
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=f"{name}-error",
            **props,
        ),
        rx.cond(error != "", rx.text(error, id=f"{name}-error", color="red", size="2")),
        spacing="1",
        width="100%",
        align="start",
    )


def _post_form(*children, action: str, **props) -> rx.Component:
    """A plain HTML form that the browser submits itself (no Reflex submit handler, so the
    password never travels over the websocket and the server can set an HttpOnly cookie)."""
    form = rx.el.form(*children, action=action, method="post", **props)
    form.event_triggers.pop("on_submit", None)
    return form


def login_form() -> rx.Component:
    return _post_form(
        rx.vstack(
            rx.cond(
                LoginState.form_error != "",
                rx.callout(
                    LoginState.form_error,
                    icon="triangle-alert",
                    color_scheme="red",
                    role="alert",
                    width="100%",
                    id="login-error",
                ),
            ),
            _field(
                "E-mail",
                "email",
                LoginState.email_error,
                type="email",
                auto_complete="username",
                placeholder="you@business.com",
                max_length=254,
            ),
            _field(
                "Password",
                "password",
                LoginState.password_error,
                type="password",
                auto_complete="current-password",
                max_length=128,
            ),
            rx.button("Sign in", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        action=backend_url("/auth/login"),
        no_validate=True,  # our own messages, the same with or without the browser's checks
        style={"width": "100%"},
        id="login-form",
    )


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("message-circle", size=28, color="var(--accent-9)", aria_hidden="true"),
                    rx.heading("Sign in to CT Text", size="6", as_="h1"),
                    align="center",
                ),
                rx.text("Answer your customers on WhatsApp and SMS.", color_scheme="gray"),
                login_form(),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="26rem",
        ),
        min_height="100dvh",
        padding="1rem",
        background="var(--gray-2)",
    )


@rx.page(route=routes.LOGIN, title="Sign in · CT Text", on_load=LoginState.on_load)
def login_route() -> rx.Component:
    return login_page()


@rx.page(route="/", title="CT Text", on_load=AuthState.open_home)
def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100dvh", aria_label="Loading")
