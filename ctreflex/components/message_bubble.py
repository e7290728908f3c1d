"""One message in the thread: day separator, bubble, quote, media, ticks, failure help."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from ctreflex.components.note_bubble import note_bubble
from ctreflex.components.reactions import react_button, reaction_badges
from ctreflex.components.team_lines import event_line
from ctreflex.components.template_preview import template_preview
from ctreflex.services.thread_view import MessageRow

EventFactory = Callable[[rx.Var[int]], rx.event.EventSpec]


def day_separator(label: rx.Var[str]) -> rx.Component:
    return rx.el.div(
        rx.el.span(label, class_name="ct-day-label"),
        class_name="ct-day",
        role="separator",
        aria_label=label,
    )


def channel_separator(label: rx.Var[str]) -> rx.Component:
    """ "Switched to SMS" where consecutive messages change channel."""
    return rx.el.div(
        rx.el.span(
            rx.icon("arrow-left-right", size=12, aria_hidden="true"),
            label,
            class_name="ct-switch-sep-label",
        ),
        class_name="ct-switch-sep",
        role="separator",
        aria_label=label,
    )


def channel_mark(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.el.span(
        msg.channel_label,
        class_name=rx.cond(
            msg.channel == "sms", "ct-chan-mark ct-chan-sms", "ct-chan-mark ct-chan-wa"
        ),
        title=rx.cond(msg.channel == "sms", "Sent or received by SMS", "WhatsApp message"),
    )


def resent_link(msg: rx.Var[MessageRow]) -> rx.Component:
    """The two halves of a "Resend as SMS": each points at the other."""
    return rx.fragment(
        rx.cond(
            msg.resent_as_id > 0,
            rx.el.a(
                rx.icon("corner-down-right", size=12, aria_hidden="true"),
                "Resent as SMS",
                href="#msg-" + msg.resent_as_id.to_string(),
                class_name="ct-resent",
            ),
        ),
        rx.cond(
            msg.resent_from_id > 0,
            rx.el.a(
                rx.icon("corner-up-left", size=12, aria_hidden="true"),
                "Resent from WhatsApp",
                href="#msg-" + msg.resent_from_id.to_string(),
                class_name="ct-resent",
            ),
        ),
    )


def status_tick(msg: rx.Var[MessageRow]) -> rx.Component:
    """Clock (sending), ✓ (sent), ✓✓ (delivered), blue ✓✓ (read), red ! (failed), a turning
    arrow (waiting in the outbox), a question mark (sent? unconfirmed)."""
    icon = rx.match(
        msg.status,
        ("pending", rx.icon("clock", size=14, aria_hidden="true")),
        ("queued", rx.icon("rotate-cw", size=14, aria_hidden="true")),
        ("unconfirmed", rx.icon("circle-help", size=15, aria_hidden="true")),
        ("accepted", rx.icon("check", size=15, aria_hidden="true")),
        ("sent", rx.icon("check", size=15, aria_hidden="true")),
        ("delivered", rx.icon("check-check", size=15, aria_hidden="true")),
        ("read", rx.icon("check-check", size=15, aria_hidden="true")),
        ("failed", rx.icon("circle-alert", size=15, aria_hidden="true")),
        rx.fragment(),
    )
    return rx.el.span(
        icon,
        role="img",
        aria_label=msg.status_label,
        title=msg.status_label,
        class_name="ct-tick ct-tick-" + msg.status,
        data_status=msg.status,
    )


def reply_quote(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.cond(
        msg.has_reply,
        rx.el.div(
            rx.cond(
                msg.reply_missing,
                rx.el.span(
                    "Replying to a message not in this inbox", class_name="ct-quote-missing"
                ),
                rx.fragment(
                    rx.el.span(msg.reply_author, class_name="ct-quote-author"),
                    rx.el.span(msg.reply_snippet, class_name="ct-quote-text"),
                ),
            ),
            class_name="ct-quote",
        ),
    )


def media_block(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.match(
        msg.media_kind,
        (
            "image",
            rx.el.a(
                rx.el.img(
                    src=msg.media_url,
                    alt=rx.cond(msg.body != "", msg.body, "Photo from " + msg.sender),
                    class_name="ct-media-img",
                    loading="lazy",
                ),
                href=msg.media_url,
                target="_blank",
                rel="noopener",
                aria_label="Open photo",
                class_name="ct-media-link",
            ),
        ),
        (
            "video",
            rx.el.video(
                src=msg.media_url,
                controls=True,
                preload="metadata",
                class_name="ct-media-video",
                aria_label="Video",
            ),
        ),
        (
            "document",
            rx.el.div(
                rx.icon("file-text", size=28, aria_hidden="true", class_name="ct-doc-icon"),
                rx.el.div(
                    rx.el.div(msg.media_name, class_name="ct-doc-name"),
                    rx.el.div("PDF · ", msg.media_size, class_name="ct-doc-meta"),
                    class_name="ct-doc-text",
                ),
                rx.el.a(
                    rx.icon("download", size=16, aria_hidden="true"),
                    "Download",
                    href=msg.media_download_url,
                    class_name="ct-doc-download",
                    aria_label="Download " + msg.media_name,
                ),
                class_name="ct-doc",
            ),
        ),
        rx.fragment(),
    )


def failure_help(
    msg: rx.Var[MessageRow], on_retry: EventFactory, on_resend: EventFactory
) -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.icon("circle-alert", size=14, aria_hidden="true"),
            rx.el.strong("Not delivered: ", msg.error_title),
            class_name="ct-fail-title",
        ),
        rx.el.p(msg.error_plain, " ", msg.error_todo, class_name="ct-fail-text"),
        rx.cond(
            msg.retryable,
            rx.button(
                rx.icon("rotate-cw", size=14, aria_hidden="true"),
                "Retry",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=on_retry(msg.id),
                type="button",
            ),
        ),
        rx.cond(
            msg.resend_offered,
            rx.button(
                rx.icon("message-square-text", size=14, aria_hidden="true"),
                "Resend as SMS",
                size="1",
                variant="soft",
                on_click=on_resend(msg.id),
                type="button",
                margin_left="0.4rem",
            ),
        ),
        class_name="ct-fail",
        role="alert",
    )


def send_note(msg: rx.Var[MessageRow]) -> rx.Component:
    """Under an outbound bubble: the outbox's next try, or that the send is unconfirmed (no
    Retry there: the customer may already have it)."""
    return rx.fragment(
        rx.cond(
            msg.queued,
            rx.el.div(
                rx.el.div(
                    rx.icon("rotate-cw", size=14, aria_hidden="true"),
                    rx.el.span(msg.retry_line),
                    class_name="ct-sendnote-title",
                ),
                class_name="ct-sendnote ct-retrying",
                role="status",
            ),
        ),
        rx.cond(
            msg.unconfirmed,
            rx.el.div(
                rx.el.div(
                    rx.icon("circle-help", size=14, aria_hidden="true"),
                    rx.el.strong(msg.unconfirmed_title),
                    class_name="ct-sendnote-title",
                ),
                rx.el.p(msg.unconfirmed_text),
                class_name="ct-sendnote ct-unconfirmed",
                role="status",
            ),
        ),
    )


def notice_bubble(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.icon(
                rx.match(
                    msg.notice_icon,
                    ("mic-off", "mic-off"),
                    ("sticker", "sticker"),
                    ("shopping-cart", "shopping-cart"),
                    ("info", "info"),
                    ("phone-off", "phone-off"),
                    ("users", "users"),
                    ("smile", "smile"),
                    ("circle-alert", "circle-alert"),
                    "circle-help",
                ),
                size=16,
                aria_hidden="true",
            ),
            rx.el.span(msg.notice_text),
            rx.el.time(msg.time, class_name="ct-notice-time", title=msg.timestamp),
            class_name="ct-notice",
        ),
        class_name="ct-msg-row ct-in",
    )


def bubble(
    msg: rx.Var[MessageRow],
    on_reply: EventFactory,
    on_retry: EventFactory,
    on_resend: EventFactory,
):
    outbound = msg.direction == "outbound"
    content = rx.fragment(
        media_block(msg),
        rx.cond(msg.body != "", rx.el.div(msg.body, class_name="ct-body")),
    )
    return rx.el.div(
        rx.el.div(
            rx.el.div(
                rx.cond(msg.tag != "", rx.el.div(msg.tag, class_name="ct-tag")),
                reply_quote(msg),
                rx.cond(
                    msg.is_template,
                    rx.el.div(template_preview(msg.template), class_name="ct-tpl-sent"),
                    content,
                ),
                rx.cond(
                    msg.link != "",
                    rx.el.a(
                        "Open in Maps",
                        href=msg.link,
                        target="_blank",
                        rel="noopener noreferrer",
                        class_name="ct-msg-link",
                    ),
                ),
                resent_link(msg),
                rx.el.div(
                    rx.cond(
                        outbound & (msg.sender != ""),
                        rx.el.span(msg.sender, class_name="ct-sender"),
                    ),
                    channel_mark(msg),
                    rx.el.time(msg.time, title=msg.timestamp),
                    rx.cond(outbound, status_tick(msg)),
                    class_name="ct-meta",
                ),
                reaction_badges(msg),
                class_name=rx.cond(
                    msg.failed,
                    "ct-bubble ct-bubble-failed",
                    rx.cond(msg.is_template, "ct-bubble ct-bubble-template", "ct-bubble"),
                ),
            ),
            rx.el.button(
                rx.icon("reply", size=15, aria_hidden="true"),
                type="button",
                aria_label="Reply",
                title="Reply",
                class_name="ct-reply-btn",
                on_click=on_reply(msg.id),
            ),
            react_button(msg),
            class_name="ct-bubble-wrap",
        ),
        rx.cond(msg.failed, failure_help(msg, on_retry, on_resend)),
        rx.cond(outbound, send_note(msg)),
        class_name=rx.cond(outbound, "ct-msg-row ct-out", "ct-msg-row ct-in"),
    )


def message_item(
    msg: rx.Var[MessageRow],
    on_reply: EventFactory,
    on_retry: EventFactory,
    on_resend: EventFactory,
):
    return rx.el.div(
        rx.cond(msg.show_day, day_separator(msg.day_label)),
        rx.cond(msg.switch_label != "", channel_separator(msg.switch_label)),
        rx.cond(
            msg.direction == "note",  # an internal note (services/notes.py)
            note_bubble(msg),
            rx.cond(
                msg.direction == "event",  # the team inbox's lines (components/team_lines.py)
                event_line(msg),
                rx.cond(
                    msg.is_notice, notice_bubble(msg), bubble(msg, on_reply, on_retry, on_resend)
                ),
            ),
        ),
        # notes and team lines carry minus their own table's id: "note-5", "event-5"
        id=rx.cond(msg.id > 0, "msg-" + msg.id.to_string(), msg.direction + msg.id.to_string()),
        class_name="ct-msg",
        data_direction=msg.direction,
        data_status=msg.status,
        data_channel=msg.channel,
    )
