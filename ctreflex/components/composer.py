"""The composer: channel switch, reply chip, attachment chip, textarea with a live count,
Attach, Choose template and Send, the price line; and the template picker dialog.

The textarea is uncontrolled: the browser keeps the draft, /inbox.js counts characters as the
customer will see them (Intl.Segmenter graphemes: an emoji counts 1) and sends on Enter; the
server gets the text once, on submit, and checks it again. On SMS the server counts segments
(`ctreflex.sms.segments`) from a debounced copy of the draft.
"""

from __future__ import annotations

import dataclasses
import re

import reflex as rx

from ctreflex.components.template_preview import template_preview
from ctreflex.services.sms import ChannelOption
from ctreflex.services.templates import FormField, PreviewView, TemplateRow
from ctreflex.whatsapp.limits import MAX_TEXT_CHARS, MEDIA_RULES

UPLOAD_ID = "composer-upload"
HEADER_UPLOAD_ID = "template-header-upload"
HEADER_ACCEPT = {
    "image": {"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"]},
    "video": {"video/mp4": [".mp4"], "video/3gpp": [".3gp"]},
    "document": {"application/pdf": [".pdf"]},
}


@dataclasses.dataclass(frozen=True)
class PickerField:
    """One input of the template form, with its error (a FormField plus UI bits)."""

    key: str
    dom_id: str  # "tf-body-1": a safe element id for focus and aria-describedby
    label: str
    kind: str
    example: str
    required: bool
    max_length: int
    is_media: bool
    error: str = ""

    @classmethod
    def of(cls, f: FormField, error: str = "") -> PickerField:
        return cls(
            key=f.key,
            dom_id="tf-" + re.sub(r"[^A-Za-z0-9_-]", "-", f.key),
            label=f.label,
            kind=f.kind,
            example=f.example,
            required=f.required,
            max_length=f.max_length,
            is_media=f.is_media,
            error=error,
        )


ACCEPT = {
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "video/mp4": [".mp4"],
    "video/3gpp": [".3gp"],
    "application/pdf": [".pdf"],
}
# The browser refuses a file over the largest attachment (100 MB PDF) before sending a byte;
# the server enforces it again (api/media.UploadSizeLimit) and per type while copying.
BROWSER_MAX_BYTES = max(rule.max_bytes for rule in MEDIA_RULES.values())


def reply_chip(author: rx.Var[str], snippet: rx.Var[str], on_cancel) -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.span("Replying to ", author, class_name="ct-quote-author"),
            rx.el.span(snippet, class_name="ct-quote-text"),
            class_name="ct-quote ct-chip-quote",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            size="1",
            aria_label="Cancel reply",
            on_click=on_cancel,
            type="button",
        ),
        class_name="ct-chip",
        id="reply-chip",
    )


def attachment_chip(
    *,
    name: rx.Var[str],
    size: rx.Var[str],
    kind: rx.Var[str],
    url: rx.Var[str],
    on_remove,
) -> rx.Component:
    return rx.el.div(
        rx.cond(
            kind == "image",
            rx.el.img(src=url, alt="", class_name="ct-chip-thumb"),
            rx.el.div(
                rx.icon(rx.cond(kind == "video", "film", "file-text"), size=20, aria_hidden="true"),
                class_name="ct-chip-thumb ct-chip-icon",
            ),
        ),
        rx.el.div(
            rx.el.div(name, class_name="ct-doc-name"),
            rx.el.div(
                size,
                " · ready to send; the message text becomes its caption",
                class_name="ct-doc-meta",
            ),
            class_name="ct-doc-text",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            size="1",
            aria_label="Remove attachment",
            on_click=on_remove,
            type="button",
        ),
        class_name="ct-chip",
        id="attachment-chip",
    )


def locked_notice(
    message: rx.Var[str], show_template: rx.Var[bool], on_open_picker
) -> rx.Component:
    return rx.el.div(
        rx.icon("lock", size=16, aria_hidden="true", flex_shrink="0"),
        rx.el.div(
            rx.el.p(message, class_name="ct-locked-text"),
            flex="1",
        ),
        rx.cond(
            show_template,
            rx.button(
                rx.icon("layout-template", size=14, aria_hidden="true"),
                "Choose template",
                size="2",
                variant="solid",
                type="button",
                on_click=on_open_picker,
                aria_haspopup="dialog",
            ),
        ),
        class_name="ct-locked",
        role="status",
        id="composer-locked",
    )


def _option_facts(o: rx.Var[ChannelOption]) -> rx.Var[str]:
    """One line per channel: what it allows right now."""
    whatsapp = rx.cond(
        o.window == "open",
        "Window open · files · 4,096 chars",
        "Window closed · templates only",
    )
    sms = rx.cond(
        o.attachments != "",
        "No window · photos (MMS) · 1,600 chars",
        "No window · text only · 1,600 chars",
    )
    return rx.cond(~o.available, o.reason, rx.cond(o.channel == "sms", sms, whatsapp))


def channel_switch(options: rx.Var[list[ChannelOption]], on_choose) -> rx.Component:
    """WhatsApp / SMS, each saying what it allows now (a radio group of two buttons)."""

    def option(o: rx.Var[ChannelOption]) -> rx.Component:
        facts_id = "channel-facts-" + o.channel
        return rx.el.button(
            rx.el.span(
                rx.icon(
                    rx.cond(o.channel == "sms", "message-square-text", "message-circle"),
                    size=14,
                    aria_hidden="true",
                ),
                rx.el.span(o.label, class_name="ct-switch-label"),
                class_name="ct-switch-head",
            ),
            rx.el.span(_option_facts(o), id=facts_id, class_name="ct-switch-facts"),
            type="button",
            role="radio",
            aria_checked=rx.cond(o.selected, "true", "false"),
            aria_label=o.label,
            aria_describedby=facts_id,
            aria_disabled=rx.cond(o.available, "false", "true"),
            title=rx.cond(o.note != "", o.note, o.attachments),
            on_click=on_choose(o.channel),  # an unavailable one answers with its reason
            class_name=rx.cond(
                o.selected,
                "ct-switch-opt is-selected",
                rx.cond(o.available, "ct-switch-opt", "ct-switch-opt is-unavailable"),
            ),
            data_channel=o.channel,
        )

    return rx.cond(
        options.length() > 1,
        rx.el.div(
            rx.foreach(options, option),
            role="radiogroup",
            aria_label="Channel",
            class_name="ct-switch",
            id="channel-switch",
        ),
    )


def composer(
    *,
    conversation_key: rx.Var[int],
    locked: rx.Var[bool],
    locked_message: rx.Var[str],
    show_template: rx.Var[bool],
    on_open_picker,
    channel_options: rx.Var[list[ChannelOption]],
    on_choose_channel,
    is_sms: rx.Var[bool],
    sms_summary: rx.Var[str],
    on_typed,
    cost_line: rx.Var[str],
    attach_allowed: rx.Var[bool],
    attach_hint: rx.Var[str],
    error: rx.Var[str],
    on_submit,
    reply_active: rx.Var[bool],
    reply_author: rx.Var[str],
    reply_snippet: rx.Var[str],
    on_cancel_reply,
    attachment_active: rx.Var[bool],
    attachment_name: rx.Var[str],
    attachment_size: rx.Var[str],
    attachment_kind: rx.Var[str],
    attachment_url: rx.Var[str],
    on_remove_attachment,
    uploading: rx.Var[bool],
    upload_progress: rx.Var[int],
    on_drop,
    on_drop_rejected,
    on_cancel_upload,
) -> rx.Component:
    attach = rx.upload.root(
        rx.icon_button(
            rx.icon("paperclip", size=18),
            variant="ghost",
            size="3",
            type="button",
            aria_label="Attach file",
            title=attach_hint,
            disabled=locked | uploading | ~attach_allowed,
        ),
        id=UPLOAD_ID,
        accept=ACCEPT,
        max_size=BROWSER_MAX_BYTES,
        multiple=False,
        max_files=1,
        no_drag=True,
        no_keyboard=True,
        disabled=locked | uploading | ~attach_allowed,
        on_drop=on_drop,
        on_drop_rejected=on_drop_rejected,
        class_name="ct-attach",
    )
    count = rx.cond(
        is_sms,
        rx.el.span(
            sms_summary,
            id="composer-segments",
            class_name="ct-count",
            title="SMS segments the carrier bills: 160 GSM-7 characters (70 with emoji or "
            "other Unicode) in one segment, 153 (67) per part once it is split",
            aria_live="polite",
        ),
        rx.el.span(
            "0 / ",
            f"{MAX_TEXT_CHARS:,}",
            id="composer-count",
            class_name="ct-count",
            key=conversation_key,
            title="Characters as the customer sees them (an emoji counts as one)",
        ),
    )
    template_button = rx.cond(
        show_template & ~locked,
        rx.el.div(
            rx.icon_button(
                rx.icon("layout-template", size=18),
                variant="ghost",
                size="3",
                type="button",
                aria_label="Choose template",
                aria_haspopup="dialog",
                title="Send an approved WhatsApp template",
                on_click=on_open_picker,
            ),
            class_name="ct-attach",
        ),
    )
    textarea = rx.text_area(
        name="message",
        id="composer-text",
        key=conversation_key,
        placeholder=rx.cond(locked, "Replies are locked", "Type a message"),
        aria_label="Message",
        aria_describedby="composer-count composer-segments composer-cost composer-error",
        disabled=locked,
        rows="1",
        size="2",
        variant="surface",
        class_name="ct-textarea",
        data_max=str(MAX_TEXT_CHARS),
        on_change=on_typed.debounce(150),
    )
    return rx.el.div(
        rx.cond(
            error != "",
            rx.el.div(
                rx.icon("triangle-alert", size=14, aria_hidden="true", flex_shrink="0"),
                rx.el.span(error),
                class_name="ct-composer-error",
                role="alert",
                id="composer-error",
            ),
        ),
        channel_switch(channel_options, on_choose_channel),
        rx.cond(
            locked,
            locked_notice(locked_message, show_template, on_open_picker),
            rx.fragment(
                rx.cond(reply_active, reply_chip(reply_author, reply_snippet, on_cancel_reply)),
                rx.cond(
                    uploading,
                    rx.el.div(
                        rx.el.span("Uploading… ", upload_progress.to_string(), "%"),
                        rx.progress(value=upload_progress, max=100, size="1", flex="1"),
                        rx.button(
                            "Cancel",
                            size="1",
                            variant="ghost",
                            on_click=on_cancel_upload,
                            type="button",
                        ),
                        class_name="ct-chip ct-upload",
                        role="status",
                    ),
                ),
                rx.cond(
                    attachment_active,
                    attachment_chip(
                        name=attachment_name,
                        size=attachment_size,
                        kind=attachment_kind,
                        url=attachment_url,
                        on_remove=on_remove_attachment,
                    ),
                ),
            ),
        ),
        rx.form(
            rx.el.div(
                attach,
                template_button,
                rx.el.div(textarea, count, class_name="ct-input-wrap"),
                rx.button(
                    rx.icon("send-horizontal", size=16, aria_hidden="true"),
                    rx.el.span("Send", class_name="ct-send-label"),
                    type="submit",
                    size="3",
                    aria_label="Send",
                    disabled=locked | uploading,
                    class_name="ct-send",
                ),
                class_name="ct-composer-row",
            ),
            on_submit=on_submit,
            reset_on_submit=False,
            id="composer-form",
        ),
        rx.cond(
            (cost_line != "") & ~locked,
            rx.el.p(
                rx.icon("receipt", size=12, aria_hidden="true"),
                rx.el.span("Cost: ", class_name="sr-only"),
                cost_line,
                id="composer-cost",
                class_name="ct-cost",
            ),
        ),
        id="composer",
        class_name="ct-composer",
    )


# ---------------------------------------------------------------------- template picker


def _template_item(row: rx.Var[TemplateRow], on_choose) -> rx.Component:
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
            on_click=on_choose(row.id),
            aria_label=row.name + " (" + row.language + ")",
            class_name="ct-tpl-item",
        ),
    )


def _field_input(
    f: rx.Var[PickerField],
    *,
    on_value,
    header_kind: rx.Var[str],
    header_name: rx.Var[str],
    header_uploading: rx.Var[bool],
    on_header_drop,
    on_header_rejected,
    on_remove_header,
) -> rx.Component:
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
        on_change=lambda v: on_value(f.key, v),
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
                    on_click=on_remove_header,
                ),
                class_name="ct-tpl-file",
            ),
            rx.upload.root(
                rx.button(
                    rx.icon("upload", size=14, aria_hidden="true"),
                    rx.cond(header_uploading, "Uploading…", "Upload " + header_kind),
                    size="1",
                    variant="soft",
                    type="button",
                    aria_label="Upload header " + header_kind,
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
                on_drop=on_header_drop,
                on_drop_rejected=on_header_rejected,
            ),
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
            on_change=lambda v: on_value(f.key, v),
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


def template_picker(
    *,
    open: rx.Var[bool],  # noqa: A002 - the dialog's own word
    on_open_change,
    query: rx.Var[str],
    on_query,
    rows: rx.Var[list[TemplateRow]],
    on_choose,
    chosen_id: rx.Var[int],
    title: rx.Var[str],
    on_back,
    fields: rx.Var[list[PickerField]],
    on_value,
    preview: rx.Var[PreviewView],
    cost: rx.Var[str],
    error: rx.Var[str],
    notice: rx.Var[str],
    sending: rx.Var[bool],
    on_submit,
    header_name: rx.Var[str],
    header_uploading: rx.Var[bool],
    on_header_drop,
    on_header_rejected,
    on_remove_header,
) -> rx.Component:
    """A dialog: the approved templates (the customer's language first, search), then a form
    field per variable beside a live preview, the price line and Send."""
    listing = rx.el.div(
        rx.el.input(
            type="search",
            placeholder="Search by name or text",
            aria_label="Search templates",
            default_value=query,
            on_change=on_query.debounce(200),
            class_name="ct-tpl-input ct-tpl-search",
        ),
        rx.cond(
            notice != "",
            rx.callout(notice, icon="info", color_scheme="amber", size="1", role="status"),
        ),
        rx.cond(
            rows.length() > 0,
            rx.el.ul(
                rx.foreach(rows, lambda r: _template_item(r, on_choose)),
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
                    on_click=on_back,
                ),
                rx.el.h3(title, class_name="ct-tpl-title"),
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
                    rx.foreach(
                        fields,
                        lambda f: _field_input(
                            f,
                            on_value=on_value,
                            header_kind=preview.header_kind,
                            header_name=header_name,
                            header_uploading=header_uploading,
                            on_header_drop=on_header_drop,
                            on_header_rejected=on_header_rejected,
                            on_remove_header=on_remove_header,
                        ),
                    ),
                    rx.el.p("This template has no variables.", class_name="ct-tpl-empty"),
                ),
                class_name="ct-tpl-fields",
                key=chosen_id,
            ),
            rx.el.div(
                rx.el.div("Preview", class_name="ct-tpl-label", aria_hidden="true"),
                template_preview(preview, id="template-preview"),
                class_name="ct-tpl-preview",
            ),
            class_name="ct-tpl-grid",
        ),
        rx.el.div(
            rx.el.p(
                rx.icon("receipt", size=12, aria_hidden="true"),
                rx.el.span("Cost: ", class_name="sr-only"),
                cost,
                id="template-cost",
                class_name="ct-cost",
            ),
            rx.dialog.close(
                rx.button("Cancel", variant="soft", color_scheme="gray", type="button"),
            ),
            rx.button(
                rx.cond(sending, rx.spinner(size="1"), rx.icon("send-horizontal", size=14)),
                "Send template",
                type="submit",
                disabled=sending,
                aria_label="Send template",
            ),
            class_name="ct-tpl-actions",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        id="template-form",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Choose a template"),
            rx.dialog.description(
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
        open=open,
        on_open_change=on_open_change,
    )
