"""The composer: reply chip, attachment chip, textarea with a live count, Attach and Send.

The textarea is uncontrolled: the browser keeps the draft, /inbox.js counts characters as the
customer will see them (Intl.Segmenter graphemes: an emoji counts 1) and sends on Enter; the
server gets the text once, on submit, and checks it again.
"""

from __future__ import annotations

import reflex as rx

from ctreflex.whatsapp.limits import MAX_TEXT_CHARS

UPLOAD_ID = "composer-upload"
ACCEPT = {
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "video/mp4": [".mp4"],
    "video/3gpp": [".3gp"],
    "application/pdf": [".pdf"],
}
BROWSER_MAX_BYTES = 100_000_000


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


def locked_notice(message: rx.Var[str], show_template: rx.Var[bool]) -> rx.Component:
    return rx.el.div(
        rx.icon("lock", size=16, aria_hidden="true", flex_shrink="0"),
        rx.el.div(
            rx.el.p(message, class_name="ct-locked-text"),
            rx.cond(
                show_template,
                rx.el.p(
                    "The template picker arrives with templates.",
                    class_name="ct-locked-note",
                ),
            ),
            flex="1",
        ),
        rx.cond(
            show_template,
            rx.tooltip(
                rx.button(
                    rx.icon("layout-template", size=14, aria_hidden="true"),
                    "Choose template",
                    size="2",
                    variant="soft",
                    disabled=True,
                    type="button",
                ),
                content="Sending templates arrives with the templates feature.",
            ),
        ),
        class_name="ct-locked",
        role="status",
        id="composer-locked",
    )


def composer(
    *,
    conversation_key: rx.Var[int],
    locked: rx.Var[bool],
    locked_message: rx.Var[str],
    show_template: rx.Var[bool],
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
            title="Attach a photo (JPEG/PNG, 5 MB), video (MP4/3GPP, 16 MB) or PDF (100 MB)",
            disabled=locked | uploading,
        ),
        id=UPLOAD_ID,
        accept=ACCEPT,
        max_size=BROWSER_MAX_BYTES,
        multiple=False,
        max_files=1,
        no_drag=True,
        no_keyboard=True,
        disabled=locked | uploading,
        on_drop=on_drop,
        on_drop_rejected=on_drop_rejected,
        class_name="ct-attach",
    )
    count = rx.el.span(
        "0 / ",
        f"{MAX_TEXT_CHARS:,}",
        id="composer-count",
        class_name="ct-count",
        key=conversation_key,
        title="Characters as the customer sees them (an emoji counts as one)",
    )
    textarea = rx.text_area(
        name="message",
        id="composer-text",
        key=conversation_key,
        placeholder=rx.cond(locked, "Replies are locked", "Type a message"),
        aria_label="Message",
        aria_describedby="composer-count composer-error",
        disabled=locked,
        rows="1",
        size="2",
        variant="surface",
        class_name="ct-textarea",
        data_max=str(MAX_TEXT_CHARS),
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
        rx.cond(
            locked,
            locked_notice(locked_message, show_template),
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
        id="composer",
        class_name="ct-composer",
    )
