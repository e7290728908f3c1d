"""Small accessibility helpers for Reflex components that do not take the prop we need."""

from __future__ import annotations

import reflex as rx


def label_file_input(upload: rx.Component, label: str | rx.Var[str]) -> rx.Component:
    """`rx.upload.root` renders its own hidden `<input type=file>` without a label (axe "label",
    critical). Give that input an accessible name; the visible button beside it keeps its own.
    The label must not contain the button's name, or role+name selectors would find two."""
    stack = [upload]
    while stack:
        node = stack.pop()
        if getattr(node, "tag", None) == "input":
            node.custom_attrs["aria-label"] = label
            return upload
        stack.extend(node.children)
    raise ValueError("no <input> inside this upload component")
