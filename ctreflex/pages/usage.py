"""/usage (admins): messages handled and the platform fee."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.table import data_table
from ctreflex.services import usage
from ctreflex.services.usage import ChannelTotal
from ctreflex.state.auth import AuthState


class UsageState(AuthState):
    totals: list[ChannelTotal] = []

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not user.is_admin:
            self.totals = []
            return
        with db.session_scope() as session:
            self.totals = usage.totals(session=session, account_id=user.account_id)


def _row(t: rx.Var[ChannelTotal]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(t.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(t.inbound),
        rx.table.cell(t.outbound),
        rx.table.cell(t.fee),
    )


def usage_body() -> rx.Component:
    return rx.vstack(
        rx.text(
            "CT Text charges its per-message fee on every inbound and outbound WhatsApp "
            "message. Meta invoices template messages directly.",
            color_scheme="gray",
        ),
        data_table(
            "Usage by channel",
            ["Channel", "Inbound", "Outbound", "Platform fee"],
            UsageState.totals,
            _row,
            "No messages yet.",
        ),
        padding="1.5rem",
        spacing="4",
        width="100%",
    )


@rx.page(
    route=routes.USAGE, title="Usage · CT Text", on_load=[AuthState.require_admin, UsageState.load]
)
def usage_page() -> rx.Component:
    return app_page("Usage", usage_body, admin=True)
