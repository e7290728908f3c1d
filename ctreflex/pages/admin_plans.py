"""/admin/plans (admins): the plans, which include WhatsApp, each plan's per-message fee, and
this account's early-access flag (granted by the platform operator, not here)."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.models import Account
from ctreflex.pages.admin import admin_user, page_body
from ctreflex.services import admin, numbers
from ctreflex.services.admin import PlanRow
from ctreflex.state.auth import AuthState


class PlansState(AuthState):
    plans: list[PlanRow] = []
    plan_name: str = ""
    early_access: bool = False
    plan_has_whatsapp: bool = False
    whatsapp_reason: str = ""
    verified: bool = False
    payment_method: bool = False

    @rx.event
    def load(self):
        user = admin_user(self)
        if user is None:
            self.plans = []
            return
        with db.session_scope() as session:
            self.plans = admin.list_plans(session=session, account_id=user.account_id)
            account = session.get(Account, user.account_id)
            gate = numbers.gate(session=session, account_id=user.account_id)
        current = next((p for p in self.plans if p.current), None)
        self.plan_name = current.name if current else ""
        self.plan_has_whatsapp = bool(current and current.whatsapp)
        self.early_access = account.early_access
        self.whatsapp_reason = gate.reason
        self.verified = account.business_verified
        self.payment_method = account.payment_method_on_file


def _yes_no(value, yes: str, no: str) -> rx.Component:
    return rx.cond(
        value,
        rx.badge(rx.icon("check", size=14, aria_hidden="true"), yes, color_scheme="green"),
        rx.badge(rx.icon("x", size=14, aria_hidden="true"), no, color_scheme="gray"),
    )


def _row(p: rx.Var[PlanRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(p.name, weight="medium"),
                rx.cond(p.current, rx.badge("Your plan", color_scheme="blue")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(_yes_no(p.whatsapp, "Included", "Not included")),
        rx.table.cell(rx.cond(p.whatsapp, p.fee, "—"), white_space="nowrap"),
        rx.table.cell(p.seats),
        rx.table.cell(p.numbers),
    )


def _status_item(label: str, value, yes: str, no: str, detail) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(label, weight="medium", size="2"),
            _yes_no(value, yes, no),
            align="center",
            wrap="wrap",
        ),
        rx.text(detail, size="1", color_scheme="gray"),
        spacing="1",
        min_width="14rem",
        flex="1",
    )


def plans_body() -> rx.Component:
    return page_body(
        rx.card(
            rx.vstack(
                rx.heading("WhatsApp for this account", size="3", as_="h2"),
                rx.cond(
                    PlansState.whatsapp_reason != "",
                    rx.callout(
                        PlansState.whatsapp_reason,
                        icon="lock",
                        color_scheme="amber",
                        id="whatsapp-status",
                        width="100%",
                    ),
                    rx.callout(
                        "WhatsApp is enabled for your account.",
                        icon="circle-check",
                        color_scheme="green",
                        id="whatsapp-status",
                        width="100%",
                    ),
                ),
                rx.flex(
                    _status_item(
                        "Plan includes WhatsApp",
                        PlansState.plan_has_whatsapp,
                        "Yes",
                        "No",
                        "Starter, Standard and Professional include WhatsApp.",
                    ),
                    _status_item(
                        "Early access",
                        PlansState.early_access,
                        "Granted",
                        "Not granted",
                        "During the beta only accounts granted early access by CT Text get "
                        "WhatsApp. Ask CT Text support to join.",
                    ),
                    _status_item(
                        "Business verified by Meta",
                        PlansState.verified,
                        "Verified",
                        "Not verified",
                        "Verified businesses show their approved name and may connect 20 numbers.",
                    ),
                    _status_item(
                        "Payment method in Meta",
                        PlansState.payment_method,
                        "On file",
                        "Missing",
                        "Needed before any WhatsApp message can be sent.",
                    ),
                    gap="4",
                    wrap="wrap",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.heading("Plans", size="3", as_="h2"),
        rx.text(
            "The platform fee is charged on every inbound and outbound WhatsApp message. "
            "Meta invoices template messages directly.",
            size="2",
            color_scheme="gray",
        ),
        rx.box(
            rx.table.root(
                rx.el.caption("Plans", class_name="sr-only"),
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ["Plan", "WhatsApp", "Fee per message", "Seats", "Numbers"]
                        ]
                    )
                ),
                rx.table.body(rx.foreach(PlansState.plans, _row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
    )


@rx.page(
    route=routes.ADMIN_PLANS,
    title="Plans · CT Text",
    on_load=[AuthState.require_admin, PlansState.load],
)
def plans_page() -> rx.Component:
    return app_page("Plans", plans_body, admin=True)
