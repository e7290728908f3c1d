"""/usage (admins): messages in and out per day, channel and number; the platform fee; template
messages by Meta category (billed by Meta directly); a chart; the CSV of exactly these rows."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.services import admin, timefmt, usage
from ctreflex.services.usage import CategoryTotal, ChannelTotal, UsageRow
from ctreflex.state.auth import AuthState


class UsageState(AuthState):
    start: str = ""
    end: str = ""
    rows: list[UsageRow] = []
    channels: list[ChannelTotal] = []
    categories: list[CategoryTotal] = []
    chart: list[dict[str, str | int]] = []
    total_messages: int = 0
    total_fee: str = "0.00"
    currency: str = "USD"
    fee_per_message: str = ""
    computed_at: str = ""
    error: str = ""
    notice: str = ""

    def _load(self, user) -> None:
        self.error = ""
        try:
            first, last = usage.parse_range(self.start, self.end)
        except usage.UsageRangeError as exc:
            self.error = str(exc)
            return
        self.start, self.end = first.isoformat(), last.isoformat()
        with db.session_scope() as session:
            rep = usage.report(session=session, account_id=user.account_id, start=first, end=last)
            plans = {p.name: p for p in _plans(session)}
        self.rows = rep.rows
        self.channels = rep.channels
        self.categories = rep.categories
        self.chart = rep.chart
        self.total_messages = rep.total_messages
        self.total_fee = rep.total_fee
        self.currency = rep.currency
        plan = plans.get(user.plan_name)
        self.fee_per_message = plan.fee if plan else ""
        when = timefmt.format_local(rep.computed_at, user.timezone) if rep.computed_at else ""
        # today is counted live from the messages; closed days come from the daily roll-up
        self.computed_at = f"{when}, today live" if rep.live and when else when

    @rx.event
    def load(self):
        self.notice = ""
        user = admin_user(self)
        if user is None:
            self.rows = []
            return
        self._load(user)

    @rx.event
    def set_start(self, value: str):
        self.start = value

    @rx.event
    def set_end(self, value: str):
        self.end = value

    @rx.event
    def apply(self, form: dict | None = None):
        self.notice = ""
        user = admin_user(self)
        if user is None:
            return
        self._load(user)

    @rx.event
    def recompute(self):
        """Roll up the chosen days again now (idempotent), then reload."""
        user = admin_user(self)
        if user is None:
            return
        try:
            first, last = usage.parse_range(self.start, self.end)
        except usage.UsageRangeError as exc:
            self.error = str(exc)
            return
        with db.session_scope() as session:
            usage.roll_up_range(session=session, start=first, end=last, account_id=user.account_id)
        self._load(user)
        self.notice = "Figures recomputed from every message recorded in this range."

    @rx.var
    def csv_url(self) -> str:
        return f"/api/admin/usage.csv?start={self.start}&end={self.end}"


def _plans(session):
    return admin.list_plans(session=session, account_id=0)


def _usage_row(r: rx.Var[UsageRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(r.day, white_space="nowrap"),
        rx.table.cell(rx.cond(r.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(r.number, white_space="nowrap"),
        rx.table.cell(r.inbound),
        rx.table.cell(r.outbound),
        rx.table.cell(r.fee),
        rx.table.cell(r.marketing),
        rx.table.cell(r.utility),
        rx.table.cell(r.authentication),
    )


def _channel_row(t: rx.Var[ChannelTotal]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(t.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(t.inbound),
        rx.table.cell(t.outbound),
        rx.table.cell(t.fee),
    )


def _category_row(c: rx.Var[CategoryTotal]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(c.category),
        rx.table.cell(c.count),
        rx.table.cell(c.billed_by),
    )


def _table(label: str, headers: list[str], rows, render, empty: str, id_: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption(label, class_name="sr-only"),
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(rows, render)),
                variant="surface",
                size="1",
                width="100%",
                id=id_,
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.callout(empty, icon="info", variant="surface", width="100%"),
    )


def _stat(label: str, value, id_: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.text(value, size="5", weight="bold", id=id_),
            spacing="1",
        ),
        flex="1",
        min_width="10rem",
    )


def _range_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.vstack(
                rx.el.label("From", html_for="usage-start", style={"fontSize": "0.85rem"}),
                rx.input(
                    id="usage-start",
                    name="usage-start",
                    type="date",
                    value=UsageState.start,
                    on_change=UsageState.set_start,
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("To", html_for="usage-end", style={"fontSize": "0.85rem"}),
                rx.input(
                    id="usage-end",
                    name="usage-end",
                    type="date",
                    value=UsageState.end,
                    on_change=UsageState.set_end,
                ),
                spacing="1",
            ),
            rx.button("Show", type="submit"),
            rx.button(
                "Recompute",
                type="button",
                variant="soft",
                on_click=UsageState.recompute,
                aria_label="Recompute the figures for this range",
            ),
            rx.link(
                rx.button(
                    rx.icon("download", size=16, aria_hidden="true"),
                    "Export CSV",
                    type="button",
                    variant="outline",
                    tab_index=-1,
                ),
                href=UsageState.csv_url,
                is_external=False,
                download=True,
                aria_label="Export CSV of this range",
            ),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        on_submit=UsageState.apply,
        reset_on_submit=False,
        width="100%",
    )


def _chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Messages per day", size="3", as_="h2"),
            rx.box(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    rx.recharts.x_axis(data_key="day"),
                    rx.recharts.y_axis(allow_decimals=False),
                    rx.recharts.tooltip(),
                    rx.recharts.legend(),
                    rx.recharts.bar(data_key="inbound", name="In", fill="var(--accent-9)"),
                    rx.recharts.bar(data_key="outbound", name="Out", fill="var(--gray-9)"),
                    data=UsageState.chart,
                    width="100%",
                    height=260,
                ),
                role="img",
                aria_label="Bar chart of messages in and out per day in the chosen range",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def usage_body() -> rx.Component:
    return page_body(
        rx.text(
            "CT Text charges its per-message fee (",
            UsageState.fee_per_message,
            " on your plan) on every inbound and outbound WhatsApp message. Meta invoices "
            "template messages directly, by its own rate card. Days are in UTC.",
            size="2",
            color_scheme="gray",
        ),
        _range_form(),
        error_callout(UsageState.error),
        notice_callout(UsageState.notice),
        rx.hstack(
            _stat("Messages", UsageState.total_messages, "usage-total-messages"),
            _stat(
                "Platform fee",
                UsageState.total_fee + " " + UsageState.currency,
                "usage-total-fee",
            ),
            rx.card(
                rx.vstack(
                    rx.text("Figures as of", size="1", color_scheme="gray"),
                    rx.text(
                        rx.cond(UsageState.computed_at != "", UsageState.computed_at, "—"),
                        size="3",
                        weight="medium",
                    ),
                    spacing="1",
                ),
                flex="1",
                min_width="10rem",
            ),
            width="100%",
            wrap="wrap",
            spacing="3",
        ),
        _chart(),
        rx.heading("By channel", size="3", as_="h2"),
        _table(
            "Usage by channel",
            ["Channel", "In", "Out", "Platform fee"],
            UsageState.channels,
            _channel_row,
            "No messages in this range.",
            "usage-channels",
        ),
        rx.heading("Template messages by Meta category", size="3", as_="h2"),
        rx.text(
            "Billed by Meta directly, not part of the platform fee. Service replies, and "
            "utility templates inside an open window, are free.",
            size="2",
            color_scheme="gray",
        ),
        _table(
            "Template messages by Meta category",
            ["Category", "Messages", "Billed by"],
            UsageState.categories,
            _category_row,
            "No template messages in this range.",
            "usage-categories",
        ),
        rx.heading("Per day, channel and number", size="3", as_="h2"),
        _table(
            "Usage per day, channel and number",
            [
                "Date",
                "Channel",
                "Number",
                "In",
                "Out",
                "Platform fee (" + UsageState.currency + ")",
                "Marketing",
                "Utility",
                "Authentication",
            ],
            UsageState.rows,
            _usage_row,
            "No messages in this range. The CSV export has the column headers only.",
            "usage-rows",
        ),
        nav=False,
    )


@rx.page(
    route=routes.USAGE, title="Usage · CT Text", on_load=[AuthState.require_admin, UsageState.load]
)
def usage_page() -> rx.Component:
    return app_page("Usage", usage_body, admin=True)
