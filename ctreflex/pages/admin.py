"""/admin (admins): users of the account and the plans."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.table import data_table
from ctreflex.services import admin
from ctreflex.services.admin import PlanRow, UserRow
from ctreflex.state.auth import AuthState


class AdminState(AuthState):
    users: list[UserRow] = []
    plans: list[PlanRow] = []

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not user.is_admin:
            self.users, self.plans = [], []
            return
        with db.session_scope() as session:
            self.users = admin.list_users(session=session, account_id=user.account_id)
            self.plans = admin.list_plans(session=session, account_id=user.account_id)


def _user_row(u: rx.Var[UserRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(u.name),
        rx.table.cell(u.email),
        rx.table.cell(rx.cond(u.role == "admin", "Admin", "Agent")),
        rx.table.cell(
            rx.cond(
                u.active,
                rx.badge("Active", color_scheme="green"),
                rx.badge("Deactivated", color_scheme="gray"),
            )
        ),
    )


def _plan_row(p: rx.Var[PlanRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(p.name, rx.cond(p.current, rx.badge("Current", ml="2"))),
        rx.table.cell(rx.cond(p.whatsapp, "Included", "Not included")),
        rx.table.cell(p.fee),
        rx.table.cell(p.seats),
        rx.table.cell(p.numbers),
    )


def admin_body() -> rx.Component:
    return rx.vstack(
        rx.heading("Users", size="4", as_="h2"),
        data_table(
            "Users", ["Name", "E-mail", "Role", "Status"], AdminState.users, _user_row, "No users."
        ),
        rx.heading("Plans", size="4", as_="h2", margin_top="1rem"),
        data_table(
            "Plans",
            ["Plan", "WhatsApp", "Fee", "Seats", "Numbers"],
            AdminState.plans,
            _plan_row,
            "No plans.",
        ),
        padding="1.5rem",
        spacing="3",
        width="100%",
    )


@rx.page(
    route=routes.ADMIN, title="Admin · CT Text", on_load=[AuthState.require_admin, AdminState.load]
)
def admin_page() -> rx.Component:
    return app_page("Admin", admin_body, admin=True)
