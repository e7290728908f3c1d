"""/admin/events (admins): webhook events of this account that were rejected (malformed, or
refused by the plan), not handled, waiting to retry or failed, kept with the reason."""

from __future__ import annotations

import reflex as rx

from ctreflex import db
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import ADMIN_EVENTS, admin_user, page_body
from ctreflex.services import events, timefmt
from ctreflex.services.events import EventRow
from ctreflex.state.auth import AuthState


class EventsState(AuthState):
    events: list[EventRow] = []
    state_filter: str = "all"

    def _refresh(self, user) -> None:
        with db.session_scope() as session:
            self.events = events.list_events(
                session=session,
                account_id=user.account_id,
                state=None if self.state_filter == "all" else self.state_filter,
                fmt=lambda d: timefmt.format_local(d, user.timezone),
            )

    @rx.event
    def load(self):
        user = admin_user(self)
        if user is None:
            self.events = []
            return
        self._refresh(user)

    @rx.event
    def set_state_filter(self, value: str):
        self.state_filter = value if value in events.PROBLEM_STATES else "all"
        user = admin_user(self)
        if user is not None:
            self._refresh(user)


def _row(e: rx.Var[EventRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(e.received_at, white_space="nowrap"),
        rx.table.cell(
            rx.badge(
                e.state,
                color_scheme=rx.match(
                    e.state, ("rejected", "red"), ("failed", "red"), ("retry", "amber"), "gray"
                ),
            )
        ),
        rx.table.cell(e.kind),
        rx.table.cell(e.attempts),
        rx.table.cell(rx.text(e.error, size="1"), max_width="28rem"),
        rx.table.cell(
            rx.el.details(
                rx.el.summary("Body", style={"cursor": "pointer"}),
                rx.code_block(e.preview, language="json", wrap_long_lines=True),
            ),
            max_width="24rem",
        ),
    )


def events_body() -> rx.Component:
    return page_body(
        rx.text(
            "Every webhook is kept as received. These are the ones that could not be turned into "
            "messages: rejected (malformed, or refused for this account's plan), not handled, "
            "waiting to retry, or failed after retries (the journal replay job tries them again).",
            size="2",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.el.label("Show", html_for="event-state", style={"fontSize": "0.9rem"}),
            rx.el.select(
                rx.el.option("All problems", value="all"),
                *[rx.el.option(s.title(), value=s) for s in events.PROBLEM_STATES],
                id="event-state",
                value=EventsState.state_filter,
                on_change=EventsState.set_state_filter,
                style={"font": "inherit", "padding": "0.3rem 0.5rem"},
            ),
            align="center",
        ),
        rx.cond(
            EventsState.events.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Webhook events", class_name="sr-only"),
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ["Received", "State", "Kind", "Attempts", "Reason", "Body"]
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(EventsState.events, _row)),
                    variant="surface",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.callout(
                "No rejected or failed webhook events.",
                icon="circle-check",
                variant="surface",
                color_scheme="green",
            ),
        ),
    )


@rx.page(
    route=ADMIN_EVENTS,
    title="Webhook events · CT Text",
    on_load=[AuthState.require_admin, EventsState.load],
)
def events_page() -> rx.Component:
    return app_page("Webhook events", events_body, admin=True)
