"""Small accessibility helpers for Reflex components that do not take the prop we need."""

from __future__ import annotations

import reflex as rx


def hide_file_input(upload: rx.Component) -> rx.Component:
    """`rx.upload.root` renders its own `<input type=file>`, unlabelled (axe "label", critical),
    visually hidden and out of the tab order (tabindex -1): the visible button beside it opens
    the file chooser and is the one control people use. Hide the input from assistive
    technology too, so a screen reader does not land on an unnamed "Choose file" button."""
    stack = [upload]
    while stack:
        node = stack.pop()
        if getattr(node, "tag", None) == "input":
            node.custom_attrs["aria-hidden"] = "true"
            return upload
        stack.extend(node.children)
    raise ValueError("no <input> inside this upload component")
