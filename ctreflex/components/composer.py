"""The composer of the open conversation (ComposerState): channel switch, reply chip,
attachment chip, textarea with a live count, Attach, Choose template and Send, the price line.
The template picker dialog is in ctreflex/components/template_picker.py.

The textarea is uncontrolled: the browser keeps the draft, /inbox.js counts characters as the
customer will see them (Intl.Segmenter graphemes: an emoji counts 1) and sends on Enter; the
server gets the text once, on submit, and checks it again. On SMS the server counts segments
(`ctreflex.sms.segments`) from a debounced copy of the draft.
"""

from __future__ import annotations

import reflex as rx

from ctreflex.components.a11y import hide_file_input
from ctreflex.components.canned import canned_list
from ctreflex.components.notes import mention_list, note_error, note_mode_toggle
from ctreflex.components.upload_limits import sized_upload
from ctreflex.pages.inbox.composer import ComposerState
from ctreflex.pages.inbox.notes import NotesState
from ctreflex.pages.inbox.picker import TemplatePickerState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services.sms import ChannelOption
from ctreflex.whatsapp.limits import MAX_TEXT_CHARS, MEDIA_RULES

UPLOAD_ID = "composer-upload"
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


def reply_chip() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.span("Replying to ", ComposerState.reply_author, class_name="ct-quote-author"),
            rx.el.span(ComposerState.reply_snippet, class_name="ct-quote-text"),
            class_name="ct-quote ct-chip-quote",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            size="1",
            aria_label="Cancel reply",
            on_click=ComposerState.cancel_reply,
            type="button",
        ),
        class_name="ct-chip",
        id="reply-chip",
    )


def attachment_chip() -> rx.Component:
    kind = ComposerState.attachment_kind
    return rx.el.div(
        rx.cond(
            kind == "image",
            rx.el.img(src=ComposerState.attachment_url, alt="", class_name="ct-chip-thumb"),
            rx.el.div(
                rx.icon(rx.cond(kind == "video", "film", "file-text"), size=20, aria_hidden="true"),
                class_name="ct-chip-thumb ct-chip-icon",
            ),
        ),
        rx.el.div(
            rx.el.div(ComposerState.attachment_name, class_name="ct-doc-name"),
            rx.el.div(
                ComposerState.attachment_size,
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
            on_click=ComposerState.remove_attachment,
            type="button",
        ),
        class_name="ct-chip",
        id="attachment-chip",
    )


def locked_notice() -> rx.Component:
    return rx.el.div(
        rx.icon("lock", size=16, aria_hidden="true", flex_shrink="0"),
        rx.el.div(
            rx.el.p(ComposerState.locked_message, class_name="ct-locked-text"),
            flex="1",
        ),
        rx.cond(
            ComposerState.show_template_button,
            rx.button(
                rx.icon("layout-template", size=14, aria_hidden="true"),
                "Choose template",
                size="2",
                variant="solid",
                type="button",
                on_click=TemplatePickerState.open_picker,
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


def channel_switch() -> rx.Component:
    """WhatsApp / SMS, each saying what it allows now (a radio group of two buttons)."""
    options = InboxState.channel_options

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
            # an unavailable one answers with its reason
            on_click=ComposerState.choose_channel(o.channel),
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


def _rejected_files(rejected: rx.Var) -> rx.event.EventSpec:
    """Pass the browser's verdict with the file's name, type and size (a File object itself
    does not survive the trip to the server)."""

    def describe(record: rx.Var) -> rx.Var:
        record = record.to(dict)
        file = record["file"].to(dict)
        return rx.Var.create(
            {
                "name": file["name"],
                "type": file["type"],
                "size": file["size"],
                "errors": record["errors"],
            }
        )

    return ComposerState.upload_rejected(rejected.to(list).map(describe))


def composer() -> rx.Component:
    """The composer of the open conversation (ComposerState)."""
    note = NotesState.note_mode  # an internal note: never locked by the window, never sent
    locked = ComposerState.composer_locked & ~note
    uploading = ComposerState.uploading
    attach_allowed = ComposerState.attach_allowed
    conversation_key = InboxState.open_id
    attach = sized_upload(
        rx.icon_button(
            rx.icon("paperclip", size=18),
            variant="ghost",
            size="3",
            type="button",
            aria_label="Attach file",
            title=ComposerState.attach_hint,
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
        on_drop=ComposerState.handle_upload(
            rx.upload_files(upload_id=UPLOAD_ID, on_upload_progress=ComposerState.upload_progressed)
        ),
        on_drop_rejected=_rejected_files,
        class_name="ct-attach",
    )
    attach = hide_file_input(attach)
    count = rx.cond(
        InboxState.is_sms,
        rx.el.span(
            ComposerState.sms_summary,
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
        ComposerState.show_template_button & ~locked,
        rx.el.div(
            rx.icon_button(
                rx.icon("layout-template", size=18),
                variant="ghost",
                size="3",
                type="button",
                aria_label="Choose template",
                aria_haspopup="dialog",
                title="Send an approved WhatsApp template",
                on_click=TemplatePickerState.open_picker,
            ),
            class_name="ct-attach",
        ),
    )
    textarea = rx.text_area(
        name="message",
        id="composer-text",
        key=conversation_key,
        placeholder=rx.cond(
            note,
            "Internal note for your team",
            rx.cond(locked, "Replies are locked", "Type a message"),
        ),
        aria_label="Message",
        aria_describedby="composer-count composer-segments composer-cost composer-error",
        disabled=locked,
        rows="1",
        size="2",
        variant="surface",
        class_name="ct-textarea",
        data_max=str(MAX_TEXT_CHARS),
        on_change=ComposerState.typed.debounce(150),
    )
    error = ComposerState.composer_error
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
        note_error(),
        note_mode_toggle(),
        rx.cond(~note, channel_switch()),
        rx.cond(
            locked,
            locked_notice(),
            rx.fragment(
                rx.cond(ComposerState.reply_to_id > 0, reply_chip()),
                rx.cond(
                    uploading,
                    rx.el.div(
                        rx.el.span("Uploading… ", ComposerState.upload_progress.to_string(), "%"),
                        rx.progress(
                            value=ComposerState.upload_progress, max=100, size="1", flex="1"
                        ),
                        rx.button(
                            "Cancel",
                            size="1",
                            variant="ghost",
                            on_click=[
                                rx.cancel_upload(UPLOAD_ID),
                                ComposerState.upload_cancelled,
                            ],
                            type="button",
                        ),
                        class_name="ct-chip ct-upload",
                        role="status",
                    ),
                ),
                rx.cond(ComposerState.attachment_id > 0, attachment_chip()),
            ),
        ),
        mention_list(),
        canned_list(),
        rx.form(
            rx.el.div(
                rx.cond(~note, attach),
                rx.cond(~note, template_button),
                rx.el.div(textarea, count, class_name="ct-input-wrap"),
                rx.button(
                    rx.icon(rx.cond(note, "lock", "send-horizontal"), size=16, aria_hidden="true"),
                    rx.el.span(rx.cond(note, "Add note", "Send"), class_name="ct-send-label"),
                    type="submit",
                    size="3",
                    aria_label=rx.cond(note, "Add note", "Send"),
                    disabled=locked | uploading,
                    class_name="ct-send",
                ),
                class_name="ct-composer-row",
            ),
            on_submit=ComposerState.send,
            reset_on_submit=False,
            id="composer-form",
        ),
        rx.cond(
            (InboxState.cost_line != "") & ~locked & ~note,
            rx.el.p(
                rx.icon("receipt", size=12, aria_hidden="true"),
                rx.el.span("Cost: ", class_name="sr-only"),
                InboxState.cost_line,
                id="composer-cost",
                class_name="ct-cost",
            ),
        ),
        id="composer",
        class_name=rx.cond(note, "ct-composer ct-composer-note", "ct-composer"),
    )
