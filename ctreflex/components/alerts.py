"""New-message alerts for an inbox tab in the background: the tab title's unread count (always,
from the server), a sound and a desktop notification (each opt-in, remembered by this browser;
assets/alerts.js plays and shows them), and the hidden field through which the page tells the
server when its tab is hidden (a message arriving then stays unread)."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.thread import InboxState


def _toggle(kind: str, label: str, hint: str) -> rx.Component:
    box_id = f"ct-alert-{kind}"
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            id=box_id,
            class_name="ct-alert-box",
            on_click=rx.call_script(f"window.ctAlerts && window.ctAlerts.toggle('{kind}')"),
        ),
        rx.el.span(
            rx.el.span(label, class_name="ct-alert-label"),
            rx.el.span(hint, class_name="ct-alert-hint", id=f"{box_id}-hint"),
            class_name="ct-alert-text",
        ),
        html_for=box_id,
        class_name="ct-alert-row",
    )


def alerts_menu() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.icon_button(
                rx.icon("bell", size=15, aria_hidden="true"),
                variant="ghost",
                size="1",
                type="button",
                aria_label="Alerts",
                title="Alerts for new messages",
                id="alerts-button",
            )
        ),
        rx.popover.content(
            rx.el.div(
                rx.el.p("When this tab is in the background", class_name="ct-alert-title"),
                _toggle("sound", "Play a sound", "A short tone for each new customer message."),
                _toggle(
                    "desktop",
                    "Show desktop notifications",
                    "Your browser asks for permission the first time.",
                ),
                rx.el.p(
                    "The tab title always shows how many conversations are unread.",
                    class_name="ct-alert-foot",
                ),
                role="group",
                aria_label="Alerts for new messages",
            ),
            side="bottom",
            align="end",
            size="1",
            max_width="20rem",
            aria_label="Alerts",  # the popover is a dialog: it needs a name
        ),
        on_open_change=lambda _open: rx.call_script(
            "setTimeout(function(){ window.ctAlerts && window.ctAlerts.sync(); }, 30)"
        ),
    )


def visibility_probe() -> rx.Component:
    """Not shown: assets/alerts.js writes "hidden" / "visible" into it when the tab changes."""
    return rx.el.input(
        id="ct-tab-visibility",
        default_value="visible",
        on_change=InboxState.set_tab_visibility,
        aria_label="Tab visibility",
        tab_index=-1,
        style={"display": "none"},
    )
