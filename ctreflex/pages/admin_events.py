"""/admin/events (admins): webhook events of this account that were parked as dead after their
retries, rejected (malformed, or refused: plan, unknown number, another WABA's number), kept in
part, not handled or waiting to retry, with the reason, and Retry / Discard. The platform
operator sees every account's, and the events no account can be found for."""

from __future__ import annotations

import reflex as rx

from ctreflex import db
from ctreflex.components.layout import app_page
from ctreflex.inbound.processor import processor
from ctreflex.pages.admin import ADMIN_EVENTS, admin_user, error_callout, notice_callout, page_body
from ctreflex.pages.admin_action import admin_action
from ctreflex.services import events, timefmt
from ctreflex.services.events import EventRow
from ctreflex.state.auth import AuthState


class EventsState(AuthState):
    events: list[EventRow] = []
    state_filter: str = "all"
    platform: bool = False  # the viewer is the platform operator: every account's events
    notice: str = ""
    error: str = ""

    def _refresh(self, user) -> None:
        self.platform = user.role == "operator"
        with db.session_scope() as session:
            self.events = events.list_events(
                session=session,
                account_id=user.account_id,
                state=None if self.state_filter == "all" else self.state_filter,
                fmt=lambda d: timefmt.format_local(d, user.timezone),
                user=user,
            )

    @rx.event
    def load(self):
        self.notice = self.error = ""
        user = admin_user(self)
        if user is None:
            self.events, self.platform = [], False
            return
        self._refresh(user)

    @rx.event
    def set_state_filter(self, value: str):
        self.state_filter = value if value in events.PROBLEM_STATES else "all"
        user = admin_user(self)
        if user is not None:
            self._refresh(user)

    def _act(self, event_id: int, action: str) -> None:
        if admin_user(self) is None:
            self.notice = self.error = ""
            self.events = []
            return
        do = events.retry_event if action == "retry" else events.discard_event

        def work(session, user) -> str:
            do(session=session, event_id=int(event_id), account_id=user.account_id, user=user)
            if action == "retry":
                return f"Event {event_id} will be processed again now."
            return f"Event {event_id} discarded; it stays in the journal."

        if admin_action(self, work, not_found="No such webhook event.") and action == "retry":
            processor.notify()

    @rx.event
    def retry(self, event_id: int):
        self._act(event_id, "retry")

    @rx.event
    def discard(self, event_id: int):
        self._act(event_id, "discard")


def _row(e: rx.Var[EventRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(e.received_at, white_space="nowrap"),
        rx.table.cell(
            rx.badge(
                e.state,
                color_scheme=rx.match(
                    e.state,
                    ("rejected", "red"),
                    ("dead", "red"),
                    ("partial", "amber"),
                    ("retry", "amber"),
                    "gray",
                ),
            )
        ),
        rx.table.cell(rx.cond(e.provider == "sms", "SMS ", "") + e.kind),
        rx.table.cell(e.attempts),
        rx.table.cell(rx.text(e.error, size="1"), max_width="28rem"),
        rx.table.cell(
            rx.el.details(
                rx.el.summary("Body", style={"cursor": "pointer"}),
                rx.code_block(e.preview, language="json", wrap_long_lines=True),
            ),
            max_width="24rem",
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    e.can_retry,
                    rx.button(
                        "Retry",
                        size="1",
                        variant="soft",
                        aria_label="Retry event " + e.id.to_string(),
                        on_click=EventsState.retry(e.id),
                    ),
                ),
                rx.cond(
                    e.can_discard,
                    rx.button(
                        "Discard",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        aria_label="Discard event " + e.id.to_string(),
                        on_click=EventsState.discard(e.id),
                    ),
                ),
                spacing="2",
            )
        ),
        id="event-" + e.id.to_string(),
    )


def events_body() -> rx.Component:
    return page_body(
        rx.text(
            "Every webhook is kept as received. These are the ones that could not be turned into "
            "messages in full: parked as dead after 5 tries over about 30 minutes, rejected "
            "(malformed, or refused: this account's plan, an unknown number, a number of "
            "another WhatsApp Business Account), kept in part (the reason names what was left "
            "out), not handled, or waiting to retry. Retry processes one again now; Discard "
            "dismisses it (it stays in the journal).",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            EventsState.platform,
            rx.text(
                "Platform operator: every account's events, and those no account can be found "
                "for (bodies that cannot be read).",
                size="2",
                color_scheme="gray",
            ),
        ),
        notice_callout(EventsState.notice),
        error_callout(EventsState.error),
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
                                for h in ["Received", "State", "Kind", "Attempts", "Reason",
                                          "Body", "Actions"]
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
                "No rejected, parked or failing webhook events.",
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
