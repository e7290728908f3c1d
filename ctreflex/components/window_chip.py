"""The 24-hour window, as a chip in the list and a countdown in the thread header.

The server renders the text as of its last update; /inbox.js re-renders every element with
`data-ct-expires` (epoch ms) each few seconds, so the countdown moves without a reload.
"""

from __future__ import annotations

import reflex as rx


def window_color(state: rx.Var[str]) -> rx.Var[str]:
    return rx.match(state, ("open", "green"), ("closing", "amber"), ("closed", "red"), "gray")


def window_chip(state: rx.Var[str], short_text: rx.Var[str], expires_ms: rx.Var[int]):
    """Compact chip for a list row: "3 h 12 min" / "Closed"."""
    return rx.badge(
        rx.icon("clock", size=12, aria_hidden="true"),
        rx.el.span("Window: ", class_name="sr-only"),
        rx.el.span(
            short_text,
            data_ct_expires=expires_ms,
            data_ct_style="short",
        ),
        color_scheme=window_color(state),
        variant="soft",
        radius="full",
        size="1",
        class_name="ct-window-chip",
        title="24-hour customer service window",
    )


def window_countdown(state: rx.Var[str], text: rx.Var[str], expires_ms: rx.Var[int]):
    """Thread header: "Window open · closes in 3 h 12 min" / "Window closed"."""
    return rx.badge(
        rx.icon(
            rx.cond((state == "open") | (state == "closing"), "clock", "lock"),
            size=14,
            aria_hidden="true",
        ),
        rx.el.span(
            text,
            data_ct_expires=expires_ms,
            data_ct_style="long",
            id="window-countdown",
        ),
        color_scheme=window_color(state),
        variant="soft",
        radius="full",
        size="2",
        title="WhatsApp's 24-hour customer service window: free-form replies are possible "
        "until 24 hours after the customer's last message.",
    )
