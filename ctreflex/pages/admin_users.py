"""/admin/users (admins): add agents and admins, change roles, deactivate (sessions end)."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.pages.admin_action import admin_action
from ctreflex.services import timefmt, users
from ctreflex.services.users import UserRow
from ctreflex.state.auth import AuthState

SELECT_STYLE = {
    "font": "inherit",
    "fontSize": "0.875rem",
    "padding": "0.3rem 0.5rem",
    "borderRadius": "var(--radius-2)",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "minHeight": "2rem",
}


class UsersState(AuthState):
    users: list[UserRow] = []
    seats_used: int = 0
    seats: int = 0
    notice: str = ""
    error: str = ""
    form_open: bool = False
    new_email: str = ""
    new_name: str = ""
    new_role: str = "agent"
    new_password: str = ""
    field_errors: dict[str, str] = {}

    def _refresh(self, user) -> None:
        with db.session_scope() as session:
            self.users = users.list_users(
                session=session,
                account_id=user.account_id,
                viewer_id=user.user_id,
                fmt=lambda d: timefmt.format_local(d, user.timezone),
            )
            self.seats_used, self.seats = users.seats(session=session, account_id=user.account_id)

    @rx.event
    def load(self):
        self.notice = self.error = ""
        user = admin_user(self)
        if user is None:
            self.users = []
            return
        self._refresh(user)

    @rx.event
    def toggle_form(self):
        self.form_open = not self.form_open
        self.field_errors = {}

    @rx.event
    def set_new_email(self, value: str):
        self.new_email = value[:260]

    @rx.event
    def set_new_name(self, value: str):
        self.new_name = value[:130]

    @rx.event
    def set_new_role(self, value: str):
        self.new_role = "admin" if value == "admin" else "agent"

    @rx.event
    def set_new_password(self, value: str):
        self.new_password = value[:200]

    @rx.event
    def add(self, form: dict | None = None):
        if admin_user(self) is None:
            return
        self.field_errors = users.validate_new_user(
            self.new_email, self.new_name, self.new_role, self.new_password
        )
        if self.field_errors:
            self.notice = self.error = ""
            return

        def work(session, user) -> str:
            added = users.add_user(
                session=session,
                account_id=user.account_id,
                email=self.new_email,
                name=self.new_name,
                role=self.new_role,
                password=self.new_password,
            )
            role = "an admin" if added.role == "admin" else "an agent"
            return (
                f"{added.name} ({added.email}) can now sign in as {role} with the password "
                "you chose. Ask them to keep it private."
            )

        if admin_action(self, work, field_errors="field_errors"):
            self.new_email = self.new_name = self.new_password = ""
            self.new_role = "agent"
            self.form_open = False

    @rx.event
    def change_role(self, user_id: int, role: str):
        def work(session, user) -> str:
            changed = users.change_role(
                session=session,
                account_id=user.account_id,
                actor_id=user.user_id,
                user_id=int(user_id),
                role=role,
            )
            return f"{changed.name or changed.email} is now {changed.role}."

        admin_action(self, work)

    @rx.event
    def set_active(self, user_id: int, active: bool):
        def work(session, user) -> str:
            changed = users.set_active(
                session=session,
                account_id=user.account_id,
                actor_id=user.user_id,
                user_id=int(user_id),
                active=bool(active),
            )
            who = changed.name or changed.email
            if changed.active:
                return f"{who} can sign in again."
            return f"{who} is deactivated and signed out everywhere."

        admin_action(self, work)


def _field(label: str, id_: str, control: rx.Component, key: str, hint: str = "") -> rx.Component:
    err = UsersState.field_errors.get(key, "")
    return rx.vstack(
        rx.el.label(label, html_for=id_, style={"fontWeight": 500, "fontSize": "0.9rem"}),
        control,
        *([rx.text(hint, size="1", color_scheme="gray", id=id_ + "-hint")] if hint else []),
        rx.cond(err != "", rx.text(err, size="1", color="red", id=id_ + "-error")),
        spacing="1",
        min_width="12rem",
        flex="1",
    )


def _add_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Add a user", size="3", as_="h2"),
                rx.flex(
                    _field(
                        "Name",
                        "new-name",
                        rx.input(
                            id="new-name",
                            name="new-name",
                            value=UsersState.new_name,
                            on_change=UsersState.set_new_name,
                            width="100%",
                        ),
                        "name",
                    ),
                    _field(
                        "E-mail",
                        "new-email",
                        rx.input(
                            id="new-email",
                            name="new-email",
                            type="email",
                            value=UsersState.new_email,
                            on_change=UsersState.set_new_email,
                            width="100%",
                        ),
                        "email",
                    ),
                    _field(
                        "Role",
                        "new-role",
                        rx.el.select(
                            rx.el.option("Agent", value="agent"),
                            rx.el.option("Admin", value="admin"),
                            id="new-role",
                            name="new-role",
                            value=UsersState.new_role,
                            on_change=UsersState.set_new_role,
                            style=SELECT_STYLE,
                        ),
                        "role",
                    ),
                    _field(
                        "Initial password",
                        "new-password",
                        rx.input(
                            id="new-password",
                            name="new-password",
                            type="password",
                            auto_complete="new-password",
                            value=UsersState.new_password,
                            on_change=UsersState.set_new_password,
                            width="100%",
                            aria_describedby="new-password-hint new-password-error",
                        ),
                        "password",
                        hint=f"At least {users.PASSWORD_MIN} characters; not a common password, "
                        "and not the name in the person's e-mail address.",
                    ),
                    gap="3",
                    wrap="wrap",
                    width="100%",
                ),
                rx.hstack(
                    rx.button("Add user", type="submit"),
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=UsersState.toggle_form,
                    ),
                    spacing="2",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=UsersState.add,
            reset_on_submit=False,
        ),
        width="100%",
    )


def _row(u: rx.Var[UserRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(u.name, weight="medium"),
                rx.cond(u.is_you, rx.badge("You", variant="soft")),
                spacing="1",
            )
        ),
        rx.table.cell(u.email),
        rx.table.cell(
            rx.el.select(
                rx.el.option("Agent", value="agent"),
                rx.el.option("Admin", value="admin"),
                value=u.role,
                on_change=lambda value: UsersState.change_role(u.id, value),
                disabled=u.is_you | ~u.active,
                aria_label="Role of " + u.email,
                style=SELECT_STYLE,
            )
        ),
        rx.table.cell(
            rx.cond(
                u.active,
                rx.badge("Active", color_scheme="green"),
                rx.badge("Deactivated", color_scheme="gray"),
            )
        ),
        rx.table.cell(u.last_login, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                u.is_you,
                rx.fragment(),
                rx.cond(
                    u.active,
                    rx.button(
                        "Deactivate",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        aria_label="Deactivate " + u.email,
                        on_click=UsersState.set_active(u.id, False),
                    ),
                    rx.button(
                        "Reactivate",
                        size="1",
                        variant="soft",
                        aria_label="Reactivate " + u.email,
                        on_click=UsersState.set_active(u.id, True),
                    ),
                ),
            )
        ),
    )


def users_body() -> rx.Component:
    return page_body(
        rx.hstack(
            rx.text(
                UsersState.seats_used.to_string()
                + " of "
                + UsersState.seats.to_string()
                + " seats in use. Deactivated users cannot sign in and are signed out at once.",
                size="2",
                color_scheme="gray",
                flex="1",
            ),
            rx.cond(
                ~UsersState.form_open,
                rx.button(
                    rx.icon("user-plus", size=16, aria_hidden="true"),
                    "Add user",
                    on_click=UsersState.toggle_form,
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        notice_callout(UsersState.notice),
        error_callout(UsersState.error),
        rx.cond(UsersState.form_open, _add_form()),
        rx.box(
            rx.table.root(
                rx.el.caption("Users", class_name="sr-only"),
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ["Name", "E-mail", "Role", "Status", "Last sign-in", "Action"]
                        ]
                    )
                ),
                rx.table.body(rx.foreach(UsersState.users, _row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
    )


@rx.page(
    route=routes.ADMIN_USERS,
    title="Users · CT Text",
    on_load=[AuthState.require_admin, UsersState.load],
)
def users_page() -> rx.Component:
    return app_page("Users", users_body, admin=True)
