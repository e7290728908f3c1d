"""A plain, accessible data table."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx


def data_table(label: str, headers: list[str], rows, render_row: Callable, empty: str):
    return rx.cond(
        rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption(label, class_name="sr-only"),
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(rows, render_row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.callout(empty, icon="info", variant="surface"),
    )


def edit_delete_cell(*, name, confirming, question, on_edit, on_delete, on_keep) -> rx.Component:
    """Edit / Delete for one row of an admin list; Delete asks `question` in the row first
    (`confirming`), with "Yes, delete" and "Keep". `name` ends each button's accessible name."""
    return rx.table.cell(
        rx.cond(
            confirming,
            rx.hstack(
                rx.text(*question, size="2"),
                rx.button(
                    "Yes, delete",
                    size="1",
                    color_scheme="red",
                    aria_label="Yes, delete " + name,
                    on_click=on_delete,
                ),
                rx.button("Keep", size="1", variant="soft", on_click=on_keep),
                spacing="2",
                align="center",
                wrap="wrap",
                role="alert",
            ),
            rx.hstack(
                rx.button(
                    "Edit", size="1", variant="soft", aria_label="Edit " + name, on_click=on_edit
                ),
                rx.button(
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    aria_label="Delete " + name,
                    on_click=on_delete,
                ),
                spacing="2",
            ),
        )
    )
