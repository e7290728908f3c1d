"""/inbox and /inbox/[conversation_id]: conversation list | thread | contact details."""

from __future__ import annotations

import reflex as rx

from ctreflex import routes
from ctreflex.components.alerts import visibility_probe
from ctreflex.components.assign_menu import reminder_notices, team_bar
from ctreflex.components.composer import composer
from ctreflex.components.conversation_list import conversation_list
from ctreflex.components.labels import thread_labels_bar
from ctreflex.components.layout import app_page
from ctreflex.components.list_views import list_views_bar
from ctreflex.components.template_picker import template_picker
from ctreflex.components.thread import (
    details_panel,
    empty_thread,
    message_log,
    not_found,
    thread_header,
)
from ctreflex.pages.inbox.assign import TeamState
from ctreflex.pages.inbox.composer import ComposerState
from ctreflex.pages.inbox.listing import InboxListState
from ctreflex.pages.inbox.live import HEARTBEAT_MS
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.state.auth import AuthState


def thread_pane() -> rx.Component:
    return rx.el.section(
        rx.cond(
            InboxState.has_conversation,
            rx.fragment(
                thread_header(InboxState.detail, InboxState.toggle_details),
                team_bar(),  # assignee and status (components/assign_menu.py)
                thread_labels_bar(),
                message_log(
                    InboxState.messages,
                    InboxState.open_id,
                    ComposerState.start_reply,
                    ComposerState.retry,
                    ComposerState.resend_sms,
                    InboxState.has_older,
                    InboxState.load_older,
                ),
                composer(),
                template_picker(),
            ),
            rx.cond(
                InboxState.missing,
                not_found(),
                rx.cond(
                    InboxState.open_id > 0,
                    rx.center(rx.spinner(), height="100%"),
                    rx.fragment(empty_thread(), template_picker()),  # "New conversation"
                ),
            ),
        ),
        aria_label="Conversation",
        class_name="ct-pane-thread",
    )


def inbox_body() -> rx.Component:
    return rx.el.div(
        rx.script(src="/inbox.js"),
        rx.script(src="/assist.js"),
        rx.script(src="/alerts.js"),
        visibility_probe(),
        rx.moment(
            interval=HEARTBEAT_MS,
            on_change=InboxState.heartbeat,
            display="none",
            aria_hidden="true",
        ),
        conversation_list(views=list_views_bar()),
        thread_pane(),
        rx.cond(
            InboxState.has_conversation,
            details_panel(
                InboxState.detail,
                InboxState.details_toggled,
                InboxState.toggle_details,
                InboxState.ledger,
            ),
        ),
        reminder_notices(),
        class_name=rx.cond(InboxState.open_id > 0, "ct-inbox has-open", "ct-inbox"),
    )


ON_LOAD = [AuthState.require_login, InboxState.load, TeamState.load]


@rx.page(route=routes.INBOX, title=InboxListState.tab_title, on_load=ON_LOAD)
def inbox_page() -> rx.Component:
    return app_page("Inbox", inbox_body)


@rx.page(route=routes.CONVERSATION, title=InboxState.conversation_title, on_load=ON_LOAD)
def conversation_page() -> rx.Component:
    return app_page("Inbox", inbox_body)
