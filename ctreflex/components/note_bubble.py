"""An internal note in the thread: amber, labelled "Internal note", with its author and time,
and no reply, retry or resend action (a note is not a message)."""

from __future__ import annotations

import reflex as rx

from ctreflex.services.thread_view import MessageRow


def note_bubble(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.div(
                rx.icon("lock", size=12, aria_hidden="true"),
                rx.el.span("Internal note"),
                rx.el.span(" · only your team sees this", class_name="ct-note-hint"),
                class_name="ct-note-tag",
            ),
            rx.el.div(msg.body, class_name="ct-body"),
            rx.el.div(
                rx.el.span(msg.sender, class_name="ct-sender"),
                rx.el.time(msg.time, title=msg.timestamp),
                class_name="ct-meta",
            ),
            class_name="ct-bubble ct-note",
            role="note",
            aria_label="Internal note by " + msg.sender,
        ),
        class_name="ct-msg-row ct-out ct-note-row",
    )
