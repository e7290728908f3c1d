"""/templates' parts: the catalogue's cells and the template's detail dialog."""

from __future__ import annotations

import reflex as rx

from ctreflex.components.template_preview import template_preview
from ctreflex.pages.templates_state import TemplatesState
from ctreflex.services.templates import FormField


def status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.badge(
        rx.match(
            status,
            ("APPROVED", "Approved"),
            ("PENDING", "Pending"),
            ("REJECTED", "Rejected"),
            ("PAUSED", "Paused"),
            ("DISABLED", "Disabled"),
            ("DELETED", "Deleted"),
            status,
        ),
        color_scheme=rx.match(
            status,
            ("APPROVED", "green"),
            ("PENDING", "blue"),
            ("REJECTED", "red"),
            ("PAUSED", "amber"),
            ("DISABLED", "gray"),
            "gray",
        ),
        variant=rx.cond(status == "APPROVED", "soft", "surface"),
        radius="full",
    )


def category_text(category: rx.Var[str]) -> rx.Var:
    return rx.match(
        category,
        ("MARKETING", "Marketing"),
        ("UTILITY", "Utility"),
        ("AUTHENTICATION", "Authentication"),
        category,
    )


def quality_badge(quality: rx.Var[str]) -> rx.Component:
    color = rx.match(
        quality,
        ("GREEN", "var(--grass-9)"),
        ("YELLOW", "var(--amber-9)"),
        ("RED", "var(--red-9)"),
        "var(--gray-7)",
    )
    label = rx.match(
        quality,
        ("GREEN", "High"),
        ("YELLOW", "Medium"),
        ("RED", "Low"),
        "Not rated",
    )
    return rx.hstack(
        rx.box(width="8px", height="8px", border_radius="999px", background=color),
        rx.text(label, size="2"),
        align="center",
        spacing="2",
    )


def header_icon(kind: rx.Var[str]) -> rx.Component:
    return rx.match(
        kind,
        ("image", rx.icon("image", size=14, aria_label="Image header")),
        ("video", rx.icon("video", size=14, aria_label="Video header")),
        ("document", rx.icon("file-text", size=14, aria_label="Document header")),
        rx.fragment(),
    )


def _field_row(f: rx.Var[FormField]) -> rx.Component:
    return rx.hstack(
        rx.text(f.label, size="2", color_scheme="gray", flex="1", min_width="0"),
        rx.cond(
            f.is_media,
            rx.text("chosen when sending", size="2", color_scheme="gray", font_style="italic"),
            rx.code(rx.cond(f.example != "", f.example, "—"), variant="soft", size="2"),
        ),
        justify="between",
        align="center",
        width="100%",
        padding_y="0.3rem",
        border_bottom="1px solid var(--gray-4)",
    )


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", width="6rem", flex_shrink="0"),
        value,
        align="center",
        width="100%",
    )


def _send_note() -> rx.Component:
    s = TemplatesState.selected
    return rx.callout(
        rx.cond(
            s.sendable,
            "Agents send this template from a conversation's composer, even when the 24-hour "
            "window is closed.",
            rx.cond(
                s.category == "AUTHENTICATION",
                "Authentication templates are shown here but can't be sent from the inbox.",
                "Only approved templates can be sent.",
            ),
        ),
        icon=rx.cond(s.sendable, "send", "ban"),
        color_scheme=rx.cond(s.sendable, "grass", "gray"),
        size="1",
        variant="surface",
    )


def template_dialog() -> rx.Component:
    s = TemplatesState.selected
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.vstack(
                    rx.dialog.title(
                        rx.code(s.name, variant="ghost", size="4", weight="bold"),
                        margin="0",
                        style={"wordBreak": "break-all"},
                    ),
                    rx.dialog.description(
                        "Preview with the examples approved by Meta.",
                        size="2",
                        color_scheme="gray",
                    ),
                    spacing="1",
                    flex="1",
                    min_width="0",
                ),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=18),
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Close",
                    )
                ),
                justify="between",
                align="start",
                gap="3",
                margin_bottom="1rem",
            ),
            rx.grid(
                rx.box(
                    template_preview(TemplatesState.selected_preview, id="template-preview"),
                    width="100%",
                    max_width="24rem",
                ),
                rx.vstack(
                    _fact("Status", status_badge(s.status)),
                    rx.cond(
                        s.rejected_reason != "",
                        _fact(
                            "Reason",
                            rx.text(
                                s.rejected_reason.lower().replace("_", " "),
                                size="2",
                                color_scheme="red",
                            ),
                        ),
                    ),
                    _fact("Category", rx.text(category_text(s.category), size="2")),
                    _fact("Language", rx.code(s.language, variant="ghost")),
                    _fact("Quality", quality_badge(s.quality)),
                    _fact("Updated", rx.text(s.updated, size="2")),
                    rx.cond(
                        TemplatesState.selected_fields.length() > 0,
                        rx.vstack(
                            rx.text("Variables", size="2", weight="medium", margin_top="0.5rem"),
                            rx.vstack(
                                rx.foreach(TemplatesState.selected_fields, _field_row),
                                spacing="0",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                    ),
                    _send_note(),
                    spacing="2",
                    width="100%",
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                gap="5",
                width="100%",
            ),
            max_width="52rem",
            width="calc(100vw - 2rem)",
        ),
        open=TemplatesState.dialog_open,
        on_open_change=TemplatesState.set_dialog_open,
    )
