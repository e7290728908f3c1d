"""The thread pane (header, messages) and the contact details panel."""

from __future__ import annotations

import reflex as rx

from ctreflex import routes
from ctreflex.components.contact_panel import contact_editor
from ctreflex.components.conversation_list import channel_icon
from ctreflex.components.message_bubble import EventFactory, message_item
from ctreflex.components.window_chip import window_countdown
from ctreflex.services.conversations import ConversationDetail, LedgerEntry
from ctreflex.services.thread_view import MessageRow


def thread_header(detail: rx.Var[ConversationDetail], on_toggle_details) -> rx.Component:
    return rx.el.header(
        rx.link(
            rx.icon("arrow-left", size=20, aria_hidden="true"),
            href=routes.INBOX,
            aria_label="Back to conversations",
            class_name="ct-back",
            color="inherit",
        ),
        rx.avatar(fallback=detail.initials, size="3", radius="full", color_scheme="teal"),
        rx.el.div(
            rx.heading(
                detail.name, size="3", as_="h2", class_name="ct-ellipsis", id="thread-title"
            ),
            rx.el.div(
                channel_icon(detail.channel, 12),
                rx.el.span(
                    detail.number,
                    rx.cond(detail.country != "", " · " + detail.country, ""),
                    class_name="ct-ellipsis",
                ),
                class_name="ct-thread-sub",
            ),
            class_name="ct-thread-who",
        ),
        rx.el.div(
            window_countdown(detail.window_state, detail.window_text, detail.window_expires_ms),
            class_name="ct-thread-window",
        ),
        rx.icon_button(
            rx.icon("panel-right", size=18),
            variant="ghost",
            size="2",
            aria_label="Contact details",
            title="Show or hide contact details",
            on_click=on_toggle_details,
            type="button",
        ),
        class_name="ct-thread-header",
    )


def message_log(
    messages: rx.Var[list[MessageRow]],
    conversation_key: rx.Var[int],
    on_reply: EventFactory,
    on_retry: EventFactory,
    on_resend: EventFactory,
    has_older: rx.Var[bool] | bool = False,
    on_older: EventFactory | None = None,
) -> rx.Component:
    older = rx.fragment()
    if on_older is not None:  # a long thread shows its newest page; older pages on request
        older = rx.cond(
            has_older,
            rx.center(
                rx.button(
                    rx.icon("history", size=14, aria_hidden="true"),
                    "Load older messages",
                    on_click=on_older,
                    variant="soft",
                    size="1",
                    id="thread-older",
                ),
                padding="0.5rem",
            ),
        )
    return rx.auto_scroll(
        older,
        rx.cond(
            messages.length() > 0,
            rx.foreach(messages, lambda m: message_item(m, on_reply, on_retry, on_resend)),
            rx.center(
                rx.text("No messages yet.", color="var(--gray-11)", size="2"),
                padding="3rem",
            ),
        ),
        id="thread",
        key=conversation_key,
        role="log",
        aria_label="Conversation history",
        class_name="ct-thread-log",
    )


def _fact(label: str, value, **props) -> rx.Component:
    return rx.fragment(
        rx.el.dt(label),
        rx.el.dd(value, **props),
    )


def _ledger_row(row: rx.Var[LedgerEntry]) -> rx.Component:
    return rx.el.li(
        rx.el.div(
            rx.icon(
                rx.cond(row.action == "out", "bell-off", "bell"),
                size=13,
                aria_hidden="true",
            ),
            rx.el.span(row.summary, class_name="ct-ledger-summary"),
            class_name="ct-ledger-head",
        ),
        rx.el.div(row.source, " · ", rx.el.time(row.when), class_name="ct-ledger-meta"),
        class_name=rx.cond(row.action == "out", "ct-ledger-row is-out", "ct-ledger-row"),
    )


def ledger_section(ledger: rx.Var[list[LedgerEntry]]) -> rx.Component:
    return rx.el.section(
        rx.heading("Consent history", size="2", as_="h3", id="ledger-heading"),
        rx.cond(
            ledger.length() > 0,
            rx.el.ul(rx.foreach(ledger, _ledger_row), class_name="ct-ledger"),
            rx.el.p(
                "No opt-outs: SMS STOP/START and WhatsApp “stop promotions” replies are "
                "recorded here.",
                class_name="ct-ledger-empty",
            ),
        ),
        aria_labelledby="ledger-heading",
        class_name="ct-ledger-section",
        id="optout-ledger",
    )


def details_panel(
    detail: rx.Var[ConversationDetail],
    toggled: rx.Var[bool],
    on_close,
    ledger: rx.Var[list[LedgerEntry]] | None = None,
) -> rx.Component:
    window_value = rx.match(
        detail.window_state,
        ("open", rx.el.span("Open, ", detail.window_text)),
        ("closing", rx.el.span("Closing soon, ", detail.window_text)),
        ("closed", rx.el.span("Closed")),
        rx.el.span("Not opened yet (the customer hasn't written)"),
    )
    return rx.el.aside(
        rx.el.div(
            rx.heading("Contact", size="3", as_="h2"),
            rx.icon_button(
                rx.icon("x", size=16),
                variant="ghost",
                size="1",
                aria_label="Close contact details",
                on_click=on_close,
                type="button",
                class_name="ct-details-close",
            ),
            class_name="ct-details-head",
        ),
        rx.vstack(
            rx.avatar(fallback=detail.initials, size="6", radius="full", color_scheme="teal"),
            rx.heading(detail.name, size="4", as_="h3", text_align="center"),
            rx.text(detail.number, size="2", color="var(--gray-11)"),
            align="center",
            spacing="2",
            padding="0.5rem 0 1rem",
        ),
        contact_editor(),
        rx.el.dl(
            _fact("Phone number", detail.number),
            _fact("Country", rx.cond(detail.country != "", detail.country, "Unknown")),
            _fact(
                "WhatsApp profile name",
                rx.cond(detail.profile_name != "", detail.profile_name, "Not shared"),
            ),
            _fact("Channel", rx.cond(detail.channel == "sms", "SMS", "WhatsApp")),
            rx.cond(
                detail.business_number != "",
                _fact("Business number", detail.business_number),
            ),
            _fact("24-hour window", window_value),
            rx.cond(
                detail.window_closes_at != "",
                rx.cond(
                    detail.window_state == "closed",
                    _fact("Window closed at", detail.window_closes_at),
                    _fact("Window closes at", detail.window_closes_at),
                ),
            ),
            rx.cond(detail.last_inbound != "", _fact("Last customer message", detail.last_inbound)),
            _fact("First contact", detail.first_contact),
            rx.cond(
                detail.marketing_opted_out | detail.sms_opted_out,
                _fact(
                    "Opt-outs",
                    rx.el.span(
                        rx.cond(detail.marketing_opted_out, "Marketing ", ""),
                        rx.cond(detail.sms_opted_out, "SMS (STOP)", ""),
                    ),
                ),
            ),
            class_name="ct-facts",
        ),
        ledger_section(ledger) if ledger is not None else rx.fragment(),
        aria_label="Contact details",
        tab_index=0,  # it scrolls: keyboard users reach and scroll it too
        id="contact-details",
        class_name=rx.cond(toggled, "ct-details is-toggled", "ct-details"),
    )


def empty_thread() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.box(
                rx.icon("messages-square", size=40, aria_hidden="true"),
                class_name="ct-empty-icon",
            ),
            rx.heading("Select a conversation", size="4", as_="h2"),
            rx.text(
                "Pick a customer on the left to read and reply. WhatsApp replies are possible "
                "for 24 hours after the customer's last message.",
                size="2",
                color="var(--gray-11)",
                text_align="center",
                max_width="24rem",
            ),
            align="center",
            spacing="3",
        ),
        class_name="ct-empty-thread",
        height="100%",
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.callout(
            "This conversation doesn't exist or belongs to another account.",
            icon="circle-alert",
            color_scheme="amber",
            role="alert",
        ),
        padding="3rem",
        height="100%",
    )
