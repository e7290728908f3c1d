"""The template picker dialog (TemplatePickerState): the approved templates, then one field
per variable beside a live preview, the header file, the price line and Send."""

from __future__ import annotations

import reflex as rx

from ctreflex.components.a11y import hide_file_input
from ctreflex.components.composer import BROWSER_MAX_BYTES
from ctreflex.components.picker_checks import blocked_callout, limit_line, refusal_note
from ctreflex.components.template_preview import template_preview
from ctreflex.components.upload_limits import sized_upload
from ctreflex.pages.inbox.picker import PickerField, TemplatePickerState
from ctreflex.services.templates import TemplateRow

HEADER_UPLOAD_ID = "template-header-upload"
HEADER_ACCEPT = {
    "image": {"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"]},
    "video": {"video/mp4": [".mp4"], "video/3gpp": [".3gp"]},
    "document": {"application/pdf": [".pdf"]},
}


def _template_item(row: rx.Var[TemplateRow]) -> rx.Component:
    refusals = TemplatePickerState.picker_refusals
    key = row.id.to_string()
    refusal_id = "tpl-refusal-" + key
    return rx.el.li(
        rx.el.button(
            rx.el.div(
                rx.el.span(row.name, class_name="ct-tpl-name"),
                rx.badge(row.language, variant="soft", color_scheme="gray", size="1"),
                rx.badge(
                    row.category.lower(),
                    variant="soft",
                    size="1",
                    color_scheme=rx.cond(row.category == "MARKETING", "orange", "blue"),
                ),
                rx.cond(
                    row.header != "",
                    rx.badge(row.header + " header", variant="outline", size="1"),
                ),
                class_name="ct-tpl-head",
            ),
            rx.el.div(row.body, class_name="ct-tpl-body"),
            type="button",
            on_click=TemplatePickerState.choose_template(row.id),
            # named by its text (WCAG 2.5.3: label in name), the template's name first
            aria_describedby=rx.cond(refusals.contains(key), refusal_id, ""),
            class_name=rx.cond(refusals.contains(key), "ct-tpl-item is-refused", "ct-tpl-item"),
        ),
        refusal_note(refusals, key, refusal_id),
    )


def _field_input(f: rx.Var[PickerField]) -> rx.Component:
    header_kind = TemplatePickerState.preview.header_kind
    header_name = TemplatePickerState.header_media_name
    error_id = f.dom_id + "-error"
    invalid = rx.cond(f.error != "", "true", "false")
    text_input = rx.el.input(
        id=f.dom_id,
        name=f.key,
        placeholder=rx.cond(f.example != "", "e.g. " + f.example, ""),
        aria_invalid=invalid,
        aria_describedby=error_id,
        aria_required=rx.cond(f.required, "true", "false"),
        max_length=rx.cond(f.max_length > 0, f.max_length, 2000),
        auto_complete="off",
        default_value=f.value,
        on_change=lambda v: TemplatePickerState.set_template_value(f.key, v),
        class_name="ct-tpl-input",
    )
    media = rx.el.div(
        rx.cond(
            header_name != "",
            rx.el.div(
                rx.icon("paperclip", size=14, aria_hidden="true"),
                rx.el.span(header_name, class_name="ct-ellipsis"),
                rx.icon_button(
                    rx.icon("x", size=12),
                    size="1",
                    variant="ghost",
                    type="button",
                    aria_label="Remove header file",
                    on_click=TemplatePickerState.remove_header_media,
                ),
                class_name="ct-tpl-file",
            ),
            hide_file_input(sized_upload(
                rx.button(
                    rx.icon("upload", size=14, aria_hidden="true"),
                    rx.cond(
                        TemplatePickerState.header_uploading,
                        "Uploading…",
                        "Upload " + header_kind,
                    ),
                    size="1",
                    variant="soft",
                    type="button",
                ),
                id=HEADER_UPLOAD_ID,
                accept=rx.match(
                    header_kind,
                    ("video", HEADER_ACCEPT["video"]),
                    ("document", HEADER_ACCEPT["document"]),
                    HEADER_ACCEPT["image"],
                ),
                max_size=BROWSER_MAX_BYTES,
                multiple=False,
                max_files=1,
                no_drag=True,
                no_keyboard=True,
                on_drop=TemplatePickerState.handle_header_upload(
                    rx.upload_files(
                        upload_id=HEADER_UPLOAD_ID,
                        on_upload_progress=TemplatePickerState.header_upload_started,
                    )
                ),
                on_drop_rejected=lambda _rejected: TemplatePickerState.header_upload_rejected(),
            )),
        ),
        rx.el.span("or a link", class_name="ct-tpl-or"),
        rx.el.input(
            id=f.dom_id,
            name=f.key,
            type="url",
            placeholder="https://…",
            aria_label=f.label + " link (https)",
            aria_invalid=invalid,
            aria_describedby=error_id,
            disabled=header_name != "",
            on_change=lambda v: TemplatePickerState.set_template_value(f.key, v),
            class_name="ct-tpl-input ct-tpl-link",
        ),
        class_name="ct-tpl-media",
        role="group",
        aria_label=f.label,
    )
    return rx.el.div(
        rx.cond(
            f.is_media,
            rx.el.span(f.label, class_name="ct-tpl-label"),
            rx.el.label(
                f.label,
                rx.cond(f.required, rx.el.span(" *", aria_hidden="true"), ""),
                html_for=f.dom_id,
                class_name="ct-tpl-label",
            ),
        ),
        rx.cond(f.is_media, media, text_input),
        rx.el.div(
            rx.cond(
                f.error != "",
                rx.fragment(rx.icon("circle-alert", size=12, aria_hidden="true"), f.error),
            ),
            id=error_id,
            class_name="ct-tpl-error",
            role=rx.cond(f.error != "", "alert", "none"),
        ),
        class_name=rx.cond(f.error != "", "ct-tpl-field is-invalid", "ct-tpl-field"),
    )


def template_picker() -> rx.Component:
    """A dialog: the approved templates (the customer's language first, search), then a form
    field per variable beside a live preview, the price line and Send (TemplatePickerState)."""
    query, rows = TemplatePickerState.picker_query, TemplatePickerState.picker_rows
    notice, error = TemplatePickerState.picker_notice, TemplatePickerState.picker_error
    fields, chosen_id = TemplatePickerState.picker_fields, TemplatePickerState.picker_id
    sending = TemplatePickerState.picker_sending
    listing = rx.el.div(
        rx.el.input(
            type="search",
            placeholder="Search by name or text",
            aria_label="Search templates",
            default_value=query,
            on_change=TemplatePickerState.set_picker_query.debounce(200),
            class_name="ct-tpl-input ct-tpl-search",
        ),
        rx.cond(
            notice != "",
            rx.callout(notice, icon="info", color_scheme="amber", size="1", role="status"),
        ),
        limit_line(),
        rx.cond(
            rows.length() > 0,
            rx.el.ul(
                rx.foreach(rows, _template_item),
                class_name="ct-tpl-list",
                aria_label="Approved templates",
            ),
            rx.el.p(
                rx.cond(
                    query != "",
                    "No approved template matches this search.",
                    "No approved templates yet. An admin can sync them on the Templates page.",
                ),
                class_name="ct-tpl-empty",
            ),
        ),
        class_name="ct-tpl-listing",
    )
    form = rx.form(
        rx.el.div(
            rx.el.div(
                rx.button(
                    rx.icon("arrow-left", size=14, aria_hidden="true"),
                    "All templates",
                    size="1",
                    variant="ghost",
                    type="button",
                    on_click=TemplatePickerState.back_to_templates,
                ),
                rx.el.h3(TemplatePickerState.picker_title, class_name="ct-tpl-title"),
                blocked_callout(),
                rx.cond(
                    error != "",
                    rx.callout(
                        error,
                        icon="triangle-alert",
                        color_scheme="red",
                        size="1",
                        role="alert",
                        id="template-error",
                    ),
                ),
                rx.cond(
                    fields.length() > 0,
                    rx.foreach(fields, _field_input),
                    rx.el.p("This template has no variables.", class_name="ct-tpl-empty"),
                ),
                class_name="ct-tpl-fields",
                key=chosen_id,
            ),
            rx.el.div(
                rx.el.div("Preview", class_name="ct-tpl-label", aria_hidden="true"),
                template_preview(TemplatePickerState.preview, id="template-preview"),
                class_name="ct-tpl-preview",
            ),
            class_name="ct-tpl-grid",
        ),
        rx.el.div(
            rx.el.p(
                rx.icon("receipt", size=12, aria_hidden="true"),
                rx.el.span("Cost: ", class_name="sr-only"),
                TemplatePickerState.picker_cost,
                id="template-cost",
                class_name="ct-cost",
            ),
            limit_line(),
            rx.dialog.close(
                rx.button("Cancel", variant="soft", color_scheme="gray", type="button"),
            ),
            rx.button(
                rx.cond(sending, rx.spinner(size="1"), rx.icon("send-horizontal", size=14)),
                "Send template",
                type="submit",
                disabled=sending | (TemplatePickerState.picker_blocked != ""),
                aria_label="Send template",
                aria_describedby=rx.cond(
                    TemplatePickerState.picker_blocked != "", "template-blocked", ""
                ),
            ),
            class_name="ct-tpl-actions",
        ),
        on_submit=TemplatePickerState.submit_template,
        reset_on_submit=False,
        id="template-form",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Choose a template"),
            rx.dialog.description(
                rx.cond(
                    TemplatePickerState.picker_to != "",
                    rx.el.strong("To " + TemplatePickerState.picker_to + ". "),
                ),
                "Approved WhatsApp templates only; they can be sent whether the 24-hour "
                "window is open or closed.",
                size="2",
                color="var(--gray-11)",
            ),
            rx.cond(chosen_id > 0, form, listing),
            rx.dialog.close(
                rx.icon_button(
                    rx.icon("x", size=16),
                    variant="ghost",
                    size="1",
                    aria_label="Close",
                    type="button",
                    class_name="ct-tpl-x",
                ),
            ),
            class_name="ct-tpl-dialog",
            max_width="56rem",
        ),
        open=TemplatePickerState.picker_open,
        on_open_change=TemplatePickerState.set_picker_open,
    )
