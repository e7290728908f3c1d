"""A team inbox line in the thread ("Ada assigned this to Ben, 14:02"): centred, small, with
no bubble, reply or status (services/thread_events.py builds the rows)."""

from __future__ import annotations

import reflex as rx

from ctreflex.services.thread_view import MessageRow


def event_line(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.el.div(
        rx.el.span(
            rx.icon(
                rx.match(
                    msg.notice_icon,
                    ("user-check", "user-check"),
                    ("user-x", "user-x"),
                    ("alarm-clock", "alarm-clock"),
                    ("circle-check", "circle-check"),
                    ("rotate-ccw", "rotate-ccw"),
                    "info",
                ),
                size=12,
                aria_hidden="true",
            ),
            rx.el.span(msg.notice_text, title=msg.timestamp),
            class_name="ct-event-line-text",
        ),
        class_name="ct-event-line",
        data_kind=msg.kind,
    )
