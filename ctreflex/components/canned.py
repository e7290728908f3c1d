"""The composer's list of canned replies, opened by typing "/" (CannedState); /assist.js moves
through it with the arrow keys and chooses with Enter."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.canned import CannedState
from ctreflex.pages.inbox.picker import TemplatePickerState
from ctreflex.services.canned import CannedRow


def _option(row: rx.Var[CannedRow]) -> rx.Component:
    return rx.el.button(
        rx.el.span("/", row.shortcut, class_name="ct-assist-key"),
        rx.el.span(row.preview, class_name="ct-assist-text"),
        type="button",
        role="option",
        aria_selected="false",
        data_assist_option="",
        class_name="ct-assist-option",
        on_click=CannedState.choose_canned(row.id),
    )


def canned_list() -> rx.Component:
    blocked = CannedState.canned_blocked
    return rx.cond(
        CannedState.canned_open,
        rx.el.div(
            rx.el.div(
                rx.el.span("Canned replies", class_name="ct-assist-title"),
                rx.el.span(
                    "↑↓ to move · Enter to insert · Esc to close", class_name="ct-assist-keys"
                ),
                rx.el.button(
                    rx.icon("x", size=12, aria_hidden="true"),
                    type="button",
                    aria_label="Close canned replies",
                    data_assist_close="",
                    class_name="ct-assist-close",
                    on_click=CannedState.close_canned,
                ),
                class_name="ct-assist-head",
            ),
            rx.cond(
                blocked != "",
                rx.el.div(
                    rx.el.p(blocked, class_name="ct-assist-empty"),
                    rx.button(
                        "Choose template",
                        size="1",
                        type="button",
                        on_click=TemplatePickerState.open_picker,
                    ),
                    class_name="ct-assist-blocked",
                    role="status",
                ),
                rx.cond(
                    CannedState.canned_rows.length() > 0,
                    rx.el.div(
                        rx.foreach(CannedState.canned_rows, _option),
                        role="listbox",
                        aria_label="Canned replies",
                        class_name="ct-assist-list",
                    ),
                    rx.el.p(
                        "No canned reply starts with /",
                        CannedState.canned_query,
                        ". Admins add them under Admin › Canned replies.",
                        class_name="ct-assist-empty",
                    ),
                ),
            ),
            rx.cond(
                CannedState.canned_error != "",
                rx.el.p(CannedState.canned_error, role="alert", class_name="ct-assist-error"),
            ),
            class_name="ct-assist",
            data_assist="canned",
            id="canned-list",
        ),
    )
