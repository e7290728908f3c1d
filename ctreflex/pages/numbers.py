"""/numbers (admins): the account's WhatsApp and SMS numbers."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.table import data_table
from ctreflex.services import admin
from ctreflex.services.admin import NumberRow
from ctreflex.state.auth import AuthState


class NumbersState(AuthState):
    numbers: list[NumberRow] = []

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not user.is_admin:
            self.numbers = []
            return
        with db.session_scope() as session:
            self.numbers = admin.list_numbers(session=session, account_id=user.account_id)


def _row(n: rx.Var[NumberRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(n.number),
        rx.table.cell(rx.cond(n.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(n.display_name),
        rx.table.cell(
            n.verified_name, rx.cond(n.name_status != "", " (" + n.name_status + ")", "")
        ),
        rx.table.cell(n.quality),
        rx.table.cell(n.messaging_limit),
        rx.table.cell(
            rx.badge(
                n.status,
                color_scheme=rx.match(
                    n.status, ("connected", "green"), ("disabled", "gray"), "amber"
                ),
            )
        ),
    )


def numbers_body() -> rx.Component:
    return rx.vstack(
        data_table(
            "Business numbers",
            [
                "Number",
                "Channel",
                "Display name",
                "Verified name",
                "Quality",
                "Messaging limit",
                "Status",
            ],
            NumbersState.numbers,
            _row,
            "No numbers connected yet.",
        ),
        rx.text(
            "Removing a number from your WhatsApp Business Account is done in Meta; "
            "here a number can only be disabled.",
            size="2",
            color_scheme="gray",
        ),
        padding="1.5rem",
        spacing="4",
        width="100%",
    )


@rx.page(
    route=routes.NUMBERS,
    title="Numbers · CT Text",
    on_load=[AuthState.require_admin, NumbersState.load],
)
def numbers_page() -> rx.Component:
    return app_page("Numbers", numbers_body, admin=True)
