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
