"""/templates: the account's WhatsApp templates, a read-only copy of what is in Meta.

Search and filters, a phone-style preview of each (filled with Meta's approved examples), a
"Sync templates" button for admins (the role is checked again on the server), and live
status changes: each open tab runs one listener on the account's event stream while the page
is open and the tab keeps beating.
"""

from __future__ import annotations

import reflex as rx

from ctreflex import routes
from ctreflex.components.layout import app_page
from ctreflex.pages.template_parts import (
    category_text,
    header_icon,
    quality_badge,
    status_badge,
    template_dialog,
)
from ctreflex.pages.templates_state import (
    ALL,
    CATEGORY_LABELS,
    HEARTBEAT_MS,
    STATUS_LABELS,
    TemplatesState,
)
from ctreflex.services.templates import TemplateRow
from ctreflex.state.auth import AuthState

HIDE_ON_MOBILE = rx.breakpoints(initial="none", sm="table-cell")


def _row(t: rx.Var[TemplateRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.el.button(
                        t.name,
                        on_click=TemplatesState.open_template(t.id),
                        aria_label="Preview " + t.name + " (" + t.language + ")",
                        class_name="ct-template-name",
                        style={
                            "all": "unset",
                            "cursor": "pointer",
                            "fontWeight": "600",
                            "fontFamily": "var(--code-font-family, monospace)",
                            "fontSize": "0.85rem",
                            "wordBreak": "break-all",
                        },
                    ),
                    header_icon(t.header),
                    align="center",
                    spacing="2",
                ),
                rx.text(
                    t.body,
                    size="1",
                    color_scheme="gray",
                    class_name="ct-ellipsis",
                    max_width=rx.breakpoints(initial="calc(100vw - 12rem)", sm="28rem"),
                    width="100%",
                ),
                rx.text(
                    t.language,
                    " · ",
                    category_text(t.category),
                    size="1",
                    color_scheme="gray",
                    display=rx.breakpoints(initial="block", sm="none"),
                ),
                spacing="1",
                min_width="0",
            ),
            max_width="30rem",
        ),
        rx.table.cell(
            rx.code(t.language, variant="ghost", title=t.language_name), display=HIDE_ON_MOBILE
        ),
        rx.table.cell(category_text(t.category), display=HIDE_ON_MOBILE),
        rx.table.cell(
            rx.vstack(
                status_badge(t.status),
                rx.cond(
                    t.rejected_reason != "",
                    rx.text(
                        "Reason: " + t.rejected_reason.lower().replace("_", " "),
                        size="1",
                        color_scheme="red",
                    ),
                ),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(quality_badge(t.quality), display=HIDE_ON_MOBILE),
        rx.table.cell(
            rx.icon_button(
                rx.icon("eye", size=16),
                variant="ghost",
                on_click=TemplatesState.open_template(t.id),
                aria_label="Preview " + t.name + " (" + t.language + ")",
            ),
            text_align="right",
            display=HIDE_ON_MOBILE,
        ),
        align="center",
        _hover={"background": "var(--gray-2)"},
    )


def _select(
    label: str, value: rx.Var[str], on_change, options: list[tuple[str, str]], width: str
) -> rx.Component:
    return rx.box(
        rx.select.root(
            rx.select.trigger(aria_label=label, width="100%"),
            rx.select.content(*[rx.select.item(text, value=val) for val, text in options]),
            value=value,
            on_change=on_change,
        ),
        flex=f"1 1 {width}",
        max_width=rx.breakpoints(initial="none", sm=width),
    )


def _language_select() -> rx.Component:
    return rx.box(
        rx.select.root(
            rx.select.trigger(aria_label="Language", width="100%"),
            rx.select.content(
                rx.select.item("All languages", value=ALL),
                rx.foreach(
                    TemplatesState.language_options, lambda lang: rx.select.item(lang, value=lang)
                ),
            ),
            value=TemplatesState.language_filter,
            on_change=TemplatesState.set_language_filter,
        ),
        flex="1 1 8rem",
        max_width=rx.breakpoints(initial="none", sm="9rem"),
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.input(
            rx.input.slot(rx.icon("search", size=16, aria_hidden="true")),
            placeholder="Search by name or text",
            value=TemplatesState.search,
            on_change=TemplatesState.set_search.debounce(250),
            aria_label="Search templates",
            type="search",
            flex="1 1 16rem",
            min_width="12rem",
        ),
        _select(
            "Category",
            TemplatesState.category_filter,
            TemplatesState.set_category_filter,
            [(ALL, "All categories")] + list(CATEGORY_LABELS.items()),
            "10rem",
        ),
        _select(
            "Status",
            TemplatesState.status_filter,
            TemplatesState.set_status_filter,
            [(ALL, "All statuses")] + list(STATUS_LABELS.items()),
            "9rem",
        ),
        _language_select(),
        gap="2",
        wrap="wrap",
        width="100%",
        align="center",
    )


def _intro() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.icon(
                "lock",
                size=16,
                color="var(--gray-10)",
                aria_hidden="true",
                margin_top="3px",
                flex_shrink="0",
            ),
            rx.text(
                "Templates are created and edited in Meta's WhatsApp Manager. This is a "
                "read-only copy, kept fresh by sync and Meta's status updates. ",
                rx.link(
                    "Open WhatsApp Manager",
                    href="https://business.facebook.com/wa/manage/message-templates/",
                    is_external=True,
                    white_space="nowrap",
                ),
                size="2",
                color_scheme="gray",
            ),
            align="start",
            spacing="2",
            flex="1 1 20rem",
        ),
        rx.cond(
            AuthState.is_admin,
            rx.button(
                rx.cond(
                    TemplatesState.syncing,
                    rx.spinner(size="1"),
                    rx.icon("refresh-cw", size=15, aria_hidden="true"),
                ),
                rx.cond(TemplatesState.syncing, "Syncing…", "Sync templates"),
                on_click=TemplatesState.sync,
                disabled=TemplatesState.syncing,
                id="sync-templates",
            ),
        ),
        gap="3",
        align="center",
        justify="between",
        wrap="wrap",
        width="100%",
    )


def _notes() -> rx.Component:
    return rx.box(
        rx.cond(
            TemplatesState.sync_note != "",
            rx.callout(
                TemplatesState.sync_note,
                icon="info",
                size="1",
                color_scheme=rx.cond(TemplatesState.sync_note.contains("fail"), "red", "grass"),
                id="sync-note",
            ),
        ),
        rx.cond(
            TemplatesState.live_note != "",
            rx.callout(
                TemplatesState.live_note,
                icon="radio",
                size="1",
                color_scheme="amber",
                id="live-note",
            ),
        ),
        role="status",
        aria_live="polite",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("layout-template", size=32, color="var(--gray-8)", aria_hidden="true"),
            rx.cond(
                TemplatesState.total == 0,
                rx.vstack(
                    rx.text("No templates synced yet", weight="medium"),
                    rx.text(
                        rx.cond(
                            AuthState.is_admin,
                            "Use “Sync templates” to copy your approved templates from Meta.",
                            "Ask an admin to sync the templates from Meta.",
                        ),
                        size="2",
                        color_scheme="gray",
                    ),
                    align="center",
                    spacing="1",
                ),
                rx.vstack(
                    rx.text("No template matches these filters", weight="medium"),
                    rx.button(
                        "Clear filters", variant="soft", on_click=TemplatesState.clear_filters
                    ),
                    align="center",
                    spacing="2",
                ),
            ),
            align="center",
            spacing="2",
        ),
        padding="3rem 1rem",
        border="1px dashed var(--gray-6)",
        border_radius="var(--radius-3)",
        width="100%",
    )


def _table() -> rx.Component:
    return rx.cond(
        TemplatesState.rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption("WhatsApp templates", class_name="sr-only"),
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Language", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell("Category", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Quality", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell(
                            rx.el.span("Preview", class_name="sr-only"), display=HIDE_ON_MOBILE
                        ),
                    )
                ),
                rx.table.body(rx.foreach(TemplatesState.rows, _row)),
                variant="surface",
                size="2",
                width="100%",
                id="templates-table",
            ),
            width="100%",
            overflow_x="auto",
        ),
        _empty(),
    )


def _no_whatsapp() -> rx.Component:
    return rx.callout(
        TemplatesState.wa_reason,
        icon="lock",
        color_scheme="amber",
        role="status",
        id="whatsapp-unavailable",
        width="100%",
    )


def templates_body() -> rx.Component:
    return rx.cond(
        TemplatesState.wa_reason != "",
        rx.vstack(
            rx.heading("WhatsApp templates", size="4", as_="h2"),
            _no_whatsapp(),
            padding=rx.breakpoints(initial="1rem", sm="1.5rem"),
            spacing="3",
            width="100%",
            max_width="76rem",
        ),
        _templates_main(),
    )


def _templates_main() -> rx.Component:
    return rx.vstack(
        _intro(),
        _toolbar(),
        _notes(),
        rx.hstack(
            rx.text(
                TemplatesState.rows.length().to_string()
                + " of "
                + TemplatesState.total.to_string()
                + " templates",
                size="1",
                color_scheme="gray",
            ),
            width="100%",
        ),
        _table(),
        template_dialog(),
        rx.box(
            rx.moment(interval=HEARTBEAT_MS, on_change=TemplatesState.heartbeat),
            display="none",
            aria_hidden="true",
        ),
        on_unmount=TemplatesState.stop_listening,
        padding=rx.breakpoints(initial="1rem", sm="1.5rem"),
        spacing="3",
        width="100%",
        max_width="76rem",
        height="100%",
        overflow_y="auto",
    )


@rx.page(
    route=routes.TEMPLATES,
    title="Templates · CT Text",
    on_load=[AuthState.require_login, TemplatesState.load],
)
def templates_page() -> rx.Component:
    return app_page("Templates", templates_body)
