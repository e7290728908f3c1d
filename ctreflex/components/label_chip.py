"""Label chips (services/labels.py LabelChip): a coloured dot and the name. Stateless, so the
list rows and the thread header can both draw them."""

from __future__ import annotations

import reflex as rx

from ctreflex.services.labels import LabelChip


def label_chip(chip: rx.Var[LabelChip], *extra: rx.Component) -> rx.Component:
    return rx.badge(
        rx.el.span(class_name="ct-label-dot", aria_hidden="true"),
        chip.name,
        *extra,
        color_scheme=chip.color,
        variant="soft",
        radius="full",
        size="1",
        class_name="ct-label",
        data_label=chip.name,
    )


def label_chips(labels: rx.Var[list[LabelChip]]) -> rx.Component:
    return rx.cond(
        labels.length() > 0,
        rx.el.span(
            rx.el.span("Labels: ", class_name="sr-only"),
            rx.foreach(labels, lambda chip: label_chip(chip)),
            class_name="ct-label-row",
        ),
    )
