"""The composer's Reply / Note toggle and its "@" list of colleagues (NotesState)."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.notes import NotesState
from ctreflex.services.notes import MentionOption


def _mode(label: str, value: str, icon: str, on: rx.Var[bool]) -> rx.Component:
    return rx.el.button(
        rx.icon(icon, size=13, aria_hidden="true"),
        label,
        type="button",
        role="radio",
        aria_checked=rx.cond(on, "true", "false"),
        class_name=rx.cond(on, "ct-mode is-on", "ct-mode"),
        on_click=NotesState.set_mode(value),
        data_mode=value,
    )


def note_mode_toggle() -> rx.Component:
    note = NotesState.note_mode
    return rx.el.div(
        rx.el.div(
            _mode("Reply", "reply", "reply", ~note),
            _mode("Note", "note", "lock", note),
            role="radiogroup",
            aria_label="Composer mode",
            class_name="ct-modes",
            id="composer-mode",
        ),
        rx.cond(
            note,
            rx.el.span(
                "Internal note: only your team sees it. Type @ to mention a colleague.",
                class_name="ct-mode-hint",
            ),
        ),
        class_name="ct-mode-row",
    )


def _mention(option: rx.Var[MentionOption]) -> rx.Component:
    return rx.el.button(
        rx.el.span("@", option.name, class_name="ct-assist-key"),
        rx.el.span(option.email, class_name="ct-assist-text"),
        type="button",
        role="option",
        aria_selected="false",
        data_assist_option="",
        class_name="ct-assist-option",
        on_click=NotesState.choose_mention(option.id),
    )


def mention_list() -> rx.Component:
    return rx.cond(
        NotesState.mention_picking,
        rx.el.div(
            rx.el.div(
                rx.el.span("Mention a colleague", class_name="ct-assist-title"),
                rx.el.button(
                    rx.icon("x", size=12, aria_hidden="true"),
                    type="button",
                    aria_label="Close mentions",
                    data_assist_close="",
                    class_name="ct-assist-close",
                    on_click=NotesState.close_mentions,
                ),
                class_name="ct-assist-head",
            ),
            rx.cond(
                NotesState.mention_matches.length() > 0,
                rx.el.div(
                    rx.foreach(NotesState.mention_matches, _mention),
                    role="listbox",
                    aria_label="Colleagues",
                    class_name="ct-assist-list",
                ),
                rx.el.p("No colleague by that name.", class_name="ct-assist-empty"),
            ),
            class_name="ct-assist",
            data_assist="mentions",
            id="mention-list",
        ),
    )


def note_error() -> rx.Component:
    return rx.cond(
        NotesState.note_error != "",
        rx.el.div(
            rx.icon("triangle-alert", size=14, aria_hidden="true", flex_shrink="0"),
            rx.el.span(NotesState.note_error),
            class_name="ct-composer-error",
            role="alert",
            id="note-error",
        ),
    )
