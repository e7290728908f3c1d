"""/numbers (admins): the account's numbers, the prerequisites, and the "Connect WhatsApp
number" wizard (pages/number_wizard.py); the state is in pages/numbers_state.py."""

from __future__ import annotations

import reflex as rx

from ctreflex import routes
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import error_callout, notice_callout, page_body
from ctreflex.pages.number_wizard import NumberWizardState, wizard
from ctreflex.pages.numbers_state import NumbersState, NumberView
from ctreflex.services.numbers import Prerequisite
from ctreflex.state.auth import AuthState

# ---------------------------------------------------------------------------------- the table


def _status_badge(n: rx.Var[NumberView]) -> rx.Component:
    return rx.badge(
        n.status_label,
        color_scheme=rx.match(n.status, ("connected", "green"), ("disabled", "gray"), "amber"),
    )


def _confirm_disable() -> rx.Component:
    """Disabling stops every send from the number: ask first, naming it."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disable " + NumbersState.confirm_number + "?"),
            rx.alert_dialog.description(
                "No messages can be sent or received here from "
                + NumbersState.confirm_number
                + " until you enable it again. It stays in your WhatsApp Business Account "
                "in Meta.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Disable",
                        color_scheme="red",
                        on_click=NumbersState.confirm_disable,
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            max_width="440px",
        ),
        open=NumbersState.confirm_id != 0,
        on_open_change=NumbersState.set_confirm_open,
    )


def _limit_cell(n: rx.Var[NumberView]) -> rx.Component:
    return rx.vstack(
        rx.text(n.messaging_limit, white_space="nowrap"),
        rx.cond(
            n.limit_used != "",
            rx.text(
                n.limit_used,
                size="1",
                weight=rx.cond(n.limit_warn, "bold", "regular"),
                color_scheme=rx.cond(n.limit_full, "red", rx.cond(n.limit_warn, "amber", "gray")),
                class_name="limit-used",
            ),
        ),
        rx.cond(
            n.limit_note != "",
            rx.text(n.limit_note, size="1", color_scheme=rx.cond(n.limit_full, "red", "amber")),
        ),
        rx.cond(n.throughput != "", rx.text(n.throughput, size="1", color_scheme="gray")),
        spacing="1",
        min_width="11em",
    )


def _row(n: rx.Var[NumberView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(n.number, weight="medium", white_space="nowrap"),
                rx.cond(n.note != "", rx.text(n.note, size="1", color_scheme="amber")),
                rx.cond(  # on a phone the limit column is off to the right: its count here too
                    n.limit_used != "",
                    rx.text(
                        n.limit_used,
                        size="1",
                        color_scheme=rx.cond(
                            n.limit_full, "red", rx.cond(n.limit_warn, "amber", "gray")
                        ),
                        display=rx.breakpoints(initial="block", md="none"),
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.cond(n.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(n.display_name),
        rx.table.cell(
            rx.cond(
                n.verified_name != "",
                rx.vstack(
                    rx.text(n.verified_name),
                    rx.cond(
                        n.name_status != "",
                        rx.badge(
                            n.name_status,
                            variant="soft",
                            color_scheme=rx.cond(n.name_ok, "green", "gray"),
                        ),
                    ),
                    spacing="1",
                ),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(n.quality),
        rx.table.cell(_limit_cell(n)),
        rx.table.cell(_status_badge(n)),
        rx.table.cell(
            rx.cond(
                n.status == "connected",
                rx.button(
                    "Disable",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    aria_label="Disable " + n.number,
                    on_click=NumbersState.ask_disable(n.id, n.number),
                ),
                rx.cond(
                    n.status == "disabled",
                    rx.button(
                        "Enable",
                        size="1",
                        variant="soft",
                        aria_label="Enable " + n.number,
                        on_click=NumbersState.enable(n.id),
                    ),
                ),
            )
        ),
    )


def _table() -> rx.Component:
    headers = [
        "Number",
        "Channel",
        "Display name",
        "Verified name",
        "Quality",
        "Messaging limit",
        "Status",
        "Action",
    ]
    return rx.cond(
        NumbersState.numbers.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption("Business numbers", class_name="sr-only"),
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(NumbersState.numbers, _row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.callout("No numbers connected yet.", icon="info", variant="surface"),
    )


# -------------------------------------------------------------------------- prerequisites


def _prereq(p: rx.Var[Prerequisite]) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.match(
                p.state,
                (
                    "done",
                    rx.icon(
                        "circle-check",
                        color="var(--green-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                (
                    "missing",
                    rx.icon(
                        "circle-alert",
                        color="var(--red-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                (
                    "recommended",
                    rx.icon(
                        "star",
                        color="var(--amber-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                rx.icon(
                    "info", color="var(--gray-10)", size=18, flex_shrink="0", aria_hidden="true"
                ),
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(p.title, weight="medium", size="2"),
                    rx.match(
                        p.state,
                        ("done", rx.badge("Done", color_scheme="green")),
                        ("missing", rx.badge("Missing", color_scheme="red")),
                        ("recommended", rx.badge("Recommended", color_scheme="amber")),
                        rx.fragment(),
                    ),
                    align="center",
                    wrap="wrap",
                ),
                rx.text(p.detail, size="2", color_scheme="gray"),
                spacing="1",
            ),
            align="start",
            spacing="2",
        ),
        style={"listStyle": "none", "padding": "0.35rem 0"},
    )


def _prerequisites() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Before you connect WhatsApp", size="3", as_="h2"),
            rx.el.ul(
                rx.foreach(NumbersState.prerequisites, _prereq),
                aria_label="Prerequisites",
                style={"margin": 0, "padding": 0},
            ),
            spacing="2",
        ),
        width="100%",
    )


def numbers_body() -> rx.Component:
    return page_body(
        notice_callout(NumbersState.notice),
        error_callout(NumbersState.page_error),
        rx.cond(
            NumbersState.wa_allowed,
            rx.hstack(
                rx.vstack(
                    rx.text(
                        "WhatsApp numbers: "
                        + NumbersState.used.to_string()
                        + " of "
                        + NumbersState.cap.to_string(),
                        weight="medium",
                        id="number-cap",
                    ),
                    rx.cond(
                        NumbersState.cap_reason != "",
                        rx.text(
                            NumbersState.cap_reason, size="2", color_scheme="red", id="cap-reason"
                        ),
                    ),
                    spacing="1",
                    flex="1",
                    min_width="14rem",
                ),
                rx.button(
                    rx.icon("plus", size=16, aria_hidden="true"),
                    "Connect WhatsApp number",
                    on_click=NumberWizardState.open_wizard,
                    disabled=NumbersState.cap_reason != "",
                ),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="3",
            ),
            rx.callout(
                NumbersState.wa_reason,
                icon="lock",
                color_scheme="amber",
                role="status",
                id="whatsapp-unavailable",
                width="100%",
            ),
        ),
        _table(),
        rx.text(
            "Removing a number from your WhatsApp Business Account is done in Meta "
            "(WhatsApp Manager); here a number can only be disabled.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            NumbersState.wa_allowed,
            rx.text(
                "Messaging limit: how many different customers Meta lets a number start "
                "conversations with (a template while their 24-hour window is closed) in any "
                "24 hours. Customers who write first don't count.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(NumbersState.wa_allowed, _prerequisites()),
        wizard(),
        _confirm_disable(),
        nav=False,
    )


@rx.page(
    route=routes.NUMBERS,
    title="Numbers · CT Text",
    on_load=[AuthState.require_admin, NumbersState.load],
)
def numbers_page() -> rx.Component:
    return app_page("Numbers", numbers_body, admin=True)
