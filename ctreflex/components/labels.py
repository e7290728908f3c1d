"""The open conversation's labels under the thread header (LabelsState): its chips, each with
a remove button, and "Add label" with the account's other labels."""

from __future__ import annotations

import reflex as rx

from ctreflex import routes
from ctreflex.components.label_chip import label_chip
from ctreflex.pages.inbox.labels import LabelsState
from ctreflex.services.labels import LabelChip
from ctreflex.state.auth import AuthState


def _removable(chip: rx.Var[LabelChip]) -> rx.Component:
    return label_chip(
        chip,
        rx.el.button(
            rx.icon("x", size=11, aria_hidden="true"),
            type="button",
            aria_label="Remove label " + chip.name,
            title="Remove label " + chip.name,
            class_name="ct-label-x",
            on_click=LabelsState.remove_label(chip.id),
        ),
    )


def _add_menu() -> rx.Component:
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(
            rx.button(
                rx.icon("tag", size=13, aria_hidden="true"),
                "Add label",
                size="1",
                variant="ghost",
                type="button",
                id="add-label",
            ),
        ),
        rx.dropdown_menu.content(
            rx.cond(
                LabelsState.addable_labels.length() > 0,
                rx.foreach(
                    LabelsState.addable_labels,
                    lambda chip: rx.dropdown_menu.item(
                        rx.el.span(class_name="ct-label-dot", aria_hidden="true"),
                        chip.name,
                        color_scheme=chip.color,
                        on_select=LabelsState.add_label(chip.id),
                    ),
                ),
                rx.dropdown_menu.item(
                    rx.cond(
                        LabelsState.label_options.length() > 0,
                        "Every label is on this conversation",
                        "No labels yet",
                    ),
                    disabled=True,
                ),
            ),
            rx.cond(
                AuthState.is_admin,
                rx.fragment(
                    rx.dropdown_menu.separator(),
                    rx.dropdown_menu.item(
                        rx.link("Manage labels", href=routes.ADMIN_LABELS, underline="none"),
                    ),
                ),
            ),
            size="1",
        ),
    )


def thread_labels_bar() -> rx.Component:
    return rx.el.div(
        rx.el.span("Labels", class_name="sr-only"),
        rx.foreach(LabelsState.open_labels, _removable),
        _add_menu(),
        rx.cond(
            LabelsState.label_error != "",
            rx.el.span(LabelsState.label_error, role="alert", class_name="ct-label-error"),
        ),
        class_name="ct-thread-labels",
        id="thread-labels",
        role="group",
        aria_label="Labels of this conversation",
    )
