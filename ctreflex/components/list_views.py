"""Beside the list's filters: the Mentions view (conversations whose notes mention me, with
how many I have not opened since) and the label filter (NotesState, LabelsState)."""

from __future__ import annotations

import reflex as rx

from ctreflex.components.label_chip import label_chip
from ctreflex.pages.inbox.labels import LabelsState
from ctreflex.pages.inbox.notes import NotesState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services.labels import LabelChip


def mentions_button() -> rx.Component:
    on = InboxState.mentions_view
    unread = NotesState.mention_unread
    return rx.el.button(
        rx.icon("at-sign", size=13, aria_hidden="true"),
        "Mentions",
        rx.cond(
            unread > 0,
            rx.el.span(
                unread.to_string(),
                rx.el.span(" unread", class_name="sr-only"),
                class_name="ct-mention-count",
                id="mention-unread",
            ),
        ),
        type="button",
        aria_pressed=rx.cond(on, "true", "false"),
        class_name=rx.cond(on, "ct-filter ct-filter-active", "ct-filter"),
        on_click=NotesState.toggle_mentions_view,
        id="mentions-view",
    )


def _option(chip: rx.Var[LabelChip]) -> rx.Component:
    return rx.select.item(label_chip(chip), value=chip.id.to_string())


def label_filter() -> rx.Component:
    return rx.cond(
        LabelsState.label_options.length() > 0,
        rx.select.root(
            rx.select.trigger(
                placeholder="Label",
                aria_label="Filter by label: " + LabelsState.label_filter_name,
                variant="ghost",
                id="label-filter",
            ),
            rx.select.content(
                rx.select.item("Any label", value="any"),
                rx.foreach(LabelsState.label_options, _option),
            ),
            value=LabelsState.label_filter_value,
            on_change=LabelsState.set_label_filter,
            size="1",
        ),
    )


def list_views_bar() -> rx.Component:
    return rx.el.div(
        mentions_button(),
        label_filter(),
        class_name="ct-list-views",
        role="group",
        aria_label="Views",
    )
