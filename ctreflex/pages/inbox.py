"""/inbox: the conversation list (the thread pane comes with the messaging core)."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.services import conversations
from ctreflex.services.conversations import ConversationRow
from ctreflex.state.auth import AuthState

WINDOW_COLORS = {"open": "green", "closing": "amber", "closed": "gray", "none": "gray"}


class InboxState(AuthState):
    rows: list[ConversationRow] = []

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        with db.session_scope() as session:
            self.rows = conversations.list_rows(
                session=session, account_id=user.account_id, tz=user.timezone
            )


def window_chip(state, text) -> rx.Component:
    return rx.badge(
        rx.icon("clock", size=12, aria_hidden="true"),
        text,
        color_scheme=rx.match(state, ("open", "green"), ("closing", "amber"), "gray"),
        variant="soft",
        radius="full",
    )


def conversation_item(row: rx.Var[ConversationRow]) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.avatar(fallback=row.name[0:1], size="3", radius="full"),
            rx.vstack(
                rx.hstack(
                    rx.text(row.name, weight="bold", size="2"),
                    rx.spacer(),
                    rx.text(row.last_at, size="1", color_scheme="gray"),
                    width="100%",
                ),
                rx.text(row.number, " · ", row.country, size="1", color_scheme="gray"),
                rx.text(
                    row.preview,
                    size="2",
                    style={
                        "overflow": "hidden",
                        "textOverflow": "ellipsis",
                        "whiteSpace": "nowrap",
                        "maxWidth": "100%",
                    },
                ),
                rx.hstack(
                    rx.icon(
                        rx.cond(row.channel == "sms", "message-square", "message-circle"),
                        size=14,
                        aria_label=row.channel,
                    ),
                    window_chip(row.window_state, row.window_text),
                    rx.spacer(),
                    rx.cond(
                        row.unread > 0,
                        rx.badge(
                            row.unread,
                            color_scheme="teal",
                            variant="solid",
                            radius="full",
                            aria_label="unread messages",
                        ),
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="1",
                width="100%",
                min_width="0",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        href="/inbox/" + row.id.to_string(),
        underline="none",
        color="inherit",
        aria_label="Conversation with " + row.name,
        padding="0.75rem",
        border_bottom="1px solid var(--gray-4)",
        display="block",
        _hover={"background": "var(--gray-3)"},
    )


def inbox_body() -> rx.Component:
    return rx.box(
        rx.cond(
            InboxState.rows.length() > 0,
            rx.el.ul(
                rx.foreach(InboxState.rows, lambda row: rx.el.li(conversation_item(row))),
                aria_label="Conversations",
                style={"listStyle": "none", "margin": 0, "padding": 0},
            ),
            rx.center(
                rx.text("No conversations yet. When a customer writes, it shows here."),
                padding="3rem",
            ),
        ),
        max_width="28rem",
        width="100%",
        border_right="1px solid var(--gray-5)",
        height="100%",
        overflow_y="auto",
    )


@rx.page(
    route=routes.INBOX, title="Inbox · CT Text", on_load=[AuthState.require_login, InboxState.load]
)
def inbox_page() -> rx.Component:
    return app_page("Inbox", inbox_body)
