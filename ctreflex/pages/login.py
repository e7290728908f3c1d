"""Sign in."""

from __future__ import annotations

import asyncio

import reflex as rx

from ctreflex import db, routes
from ctreflex.services import auth
from ctreflex.state.auth import AuthState


class LoginState(AuthState):
    email: str = ""
    password: str = ""
    email_error: str = ""
    password_error: str = ""
    form_error: str = ""
    busy: bool = False

    @rx.event
    def set_email(self, value: str):
        self.email = value[: auth.EMAIL_MAX + 1]
        self.email_error = ""

    @rx.event
    def set_password(self, value: str):
        self.password = value[: auth.PASSWORD_MAX + 1]
        self.password_error = ""

    @rx.event
    def on_load(self):
        if self.current_user() is not None:
            return rx.redirect(routes.INBOX, replace=True)

    @rx.event
    async def submit(self, form: dict | None = None):
        self.form_error = ""
        errors = auth.validate_credentials(self.email, self.password)
        self.email_error = errors.get("email", "")
        self.password_error = errors.get("password", "")
        if errors:
            return
        try:
            with db.session_scope() as session:
                token = auth.login(session=session, email=self.email, password=self.password)
        except auth.AuthError as exc:
            await asyncio.sleep(0.3)  # a wrong password never answers instantly
            self.form_error = str(exc)
            self.password = ""
            return
        self.session_token = token
        self.password = ""
        return rx.redirect(routes.INBOX, replace=True)


def _field(label: str, name: str, value, on_change, error, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"fontWeight": 500, "fontSize": "0.9rem"}),
        rx.input(
            id=name,
            name=name,
            value=value,
            on_change=on_change,
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


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.icon(
                            "message-circle", size=28, color="var(--accent-9)", aria_hidden="true"
                        ),
                        rx.heading("Sign in to CT Text", size="6", as_="h1"),
                        align="center",
                    ),
                    rx.text("Answer your customers on WhatsApp and SMS.", color_scheme="gray"),
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
                        LoginState.email,
                        LoginState.set_email,
                        LoginState.email_error,
                        type="email",
                        auto_complete="username",
                        placeholder="you@business.com",
                    ),
                    _field(
                        "Password",
                        "password",
                        LoginState.password,
                        LoginState.set_password,
                        LoginState.password_error,
                        type="password",
                        auto_complete="current-password",
                    ),
                    rx.button(
                        "Sign in", type="submit", size="3", width="100%", loading=LoginState.busy
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=LoginState.submit,
                reset_on_submit=False,
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


@rx.page(route="/", title="CT Text", on_load=AuthState.require_login)
def index() -> rx.Component:
    return rx.center(
        rx.spinner(size="3"), rx.script("window.location.replace('/inbox')"), min_height="100dvh"
    )
