"""A template as WhatsApp draws it on the customer's phone.

``template_preview(view)`` takes a Var of :class:`ctreflex.services.templates.PreviewView`
(build it with ``templates.preview(...)`` for a form, or ``templates.preview_from_payload``
for a sent message) and is shared by the templates page, the composer's picker and the thread.
Colours are WhatsApp's own (light theme), whatever the app's theme, so it reads as "the phone".
"""

from __future__ import annotations

import reflex as rx

from ctreflex.services.templates import PreviewButton, PreviewView, TextSegment
from ctreflex.state.auth import AuthState

CHAT_BG = "#efeae2"
BUBBLE = "#ffffff"
INK = "#111b21"
MUTED = "#667781"
LINK = "#027eb5"
RULE = "#e9edef"
MEDIA_BG = "#d1d7db"


def now_in_zone() -> rx.Var:
    """The time now in the signed-in user's zone ("14:05"), computed in the browser when the
    preview draws (a preview without a message time: the templates page)."""
    tz = AuthState.timezone
    return rx.Var(
        _js_expr=(
            "(() => { try { return new Date().toLocaleTimeString('en-GB', {timeZone: "
            f"{tz!s}, hour: '2-digit', minute: '2-digit', hour12: false}}); }} catch (e) "
            "{ return new Date().toTimeString().slice(0, 5); } })()"
        ),
        _var_type=str,
        _var_data=tz._get_all_var_data(),
    )


def _segment(seg: rx.Var[TextSegment]) -> rx.Component:
    return rx.el.span(
        seg.text,
        style={
            "fontWeight": rx.cond(seg.bold, "600", "inherit"),
            "fontStyle": rx.cond(seg.italic, "italic", "normal"),
            "textDecoration": rx.cond(seg.strike, "line-through", "none"),
            "fontFamily": rx.cond(seg.mono, "ui-monospace, SFMono-Regular, Menlo, monospace", ""),
            "background": rx.cond(seg.placeholder, "#fff3c4", "transparent"),
            "color": rx.cond(seg.placeholder, "#8a5a00", "inherit"),
            "borderRadius": "3px",
            "padding": rx.cond(seg.placeholder, "0 2px", "0"),
        },
        title=rx.cond(seg.placeholder, "Not filled in yet", ""),
    )


def _media_placeholder(kind: rx.Var[str], name: rx.Var[str]) -> rx.Component:
    icon = rx.match(
        kind,
        ("video", rx.icon("circle-play", size=40, color="#ffffff", aria_hidden="true")),
        ("document", rx.icon("file-text", size=34, color="#8696a0", aria_hidden="true")),
        rx.icon("image", size=36, color="#ffffff", aria_hidden="true"),
    )
    label = rx.match(
        kind, ("video", "Video header"), ("document", "Document header"), "Image header"
    )
    document = rx.hstack(
        rx.box(
            rx.text("PDF", size="1", weight="bold", color="#ffffff"),
            background="#e5484d",
            border_radius="3px",
            padding="2px 4px",
        ),
        rx.text(
            rx.cond(name != "", name, "Document.pdf"),
            size="2",
            color=INK,
            class_name="ct-ellipsis",
        ),
        align="center",
        spacing="2",
        padding="0.6rem 0.7rem",
        background="#f5f6f6",
        border_radius="6px",
        width="100%",
    )
    return rx.cond(
        kind == "document",
        document,
        rx.center(
            icon,
            role="img",
            aria_label=label,
            background=rx.cond(kind == "video", "#3b4a54", MEDIA_BG),
            border_radius="6px",
            width="100%",
            aspect_ratio="1.91",
        ),
    )


def _header(view: rx.Var[PreviewView]) -> rx.Component:
    media = rx.cond(
        (view.header_media_url != "") & (view.header_kind == "image"),
        rx.image(
            src=view.header_media_url,
            alt="Header image",
            width="100%",
            aspect_ratio="1.91",
            object_fit="cover",
            border_radius="6px",
            background=MEDIA_BG,
        ),
        _media_placeholder(view.header_kind, view.header_media_name),
    )
    return rx.match(
        view.header_kind,
        ("", rx.fragment()),
        (
            "text",
            rx.text(
                view.header_text,
                weight="bold",
                color=INK,
                style={"fontSize": "15px", "lineHeight": "20px", "overflowWrap": "anywhere"},
                margin_bottom="4px",
            ),
        ),
        rx.box(media, margin_bottom="6px"),
    )


def _button_icon(kind: rx.Var[str]) -> rx.Component:
    return rx.match(
        kind,
        ("URL", rx.icon("external-link", size=16, aria_hidden="true")),
        ("PHONE_NUMBER", rx.icon("phone", size=16, aria_hidden="true")),
        ("COPY_CODE", rx.icon("copy", size=16, aria_hidden="true")),
        ("QUICK_REPLY", rx.icon("reply", size=16, aria_hidden="true")),
        rx.icon("mouse-pointer-click", size=16, aria_hidden="true"),
    )


def _button_row(b: rx.Var[PreviewButton]) -> rx.Component:
    return rx.hstack(
        _button_icon(b.kind),
        rx.text(b.text, size="2", weight="medium"),
        justify="center",
        align="center",
        spacing="2",
        color=LINK,
        padding="0.55rem 0.5rem",
        border_top=f"1px solid {RULE}",
        width="100%",
        title=b.detail,
        role="listitem",
        aria_label=rx.match(
            b.kind,
            ("URL", "Link button: " + b.text + ", opens " + b.detail),
            ("PHONE_NUMBER", "Call button: " + b.text + ", calls " + b.detail),
            ("COPY_CODE", "Copy code button: " + b.detail),
            "Button: " + b.text,
        ),
    )


def _quick_reply(b: rx.Var[PreviewButton]) -> rx.Component:
    return rx.hstack(
        rx.icon("reply", size=15, aria_hidden="true"),
        rx.text(b.text, size="2", weight="medium"),
        justify="center",
        align="center",
        spacing="2",
        color=LINK,
        background=BUBBLE,
        border_radius="8px",
        padding="0.5rem 0.75rem",
        box_shadow="0 1px 0.5px rgba(11,20,26,.13)",
        flex="1 1 40%",
        role="listitem",
        aria_label="Quick reply: " + b.text,
    )


def template_preview(
    view: rx.Var[PreviewView], *, id: str | None = None, width: str = "100%"
) -> rx.Component:
    """The phone-style bubble: header, body with values, footer, buttons, quick replies."""
    bubble = rx.box(
        _header(view),
        rx.box(
            rx.foreach(view.segments, _segment),
            color=INK,
            style={
                "fontSize": "14.2px",
                "lineHeight": "19px",
                "whiteSpace": "pre-wrap",
                "overflowWrap": "anywhere",
            },
        ),
        rx.cond(
            view.footer != "",
            rx.text(
                view.footer,
                color=MUTED,
                style={"fontSize": "13px", "lineHeight": "17px"},
                margin_top="4px",
            ),
        ),
        rx.text(
            rx.cond(view.time != "", view.time, now_in_zone()),
            color=MUTED,
            style={"fontSize": "11px", "textAlign": "right"},
            margin_top="2px",
            aria_hidden="true",
        ),
        rx.cond(
            view.buttons.length() > 0,
            rx.box(
                rx.foreach(view.buttons, _button_row),
                role="list",
                aria_label="Buttons",
                margin="6px -7px -6px -9px",
            ),
        ),
        background=BUBBLE,
        border_radius="0 7.5px 7.5px 7.5px",
        padding="6px 7px 6px 9px",
        box_shadow="0 1px 0.5px rgba(11,20,26,.13)",
        max_width="100%",
    )
    return rx.box(
        rx.vstack(
            bubble,
            rx.cond(
                view.quick_replies.length() > 0,
                rx.flex(
                    rx.foreach(view.quick_replies, _quick_reply),
                    wrap="wrap",
                    gap="4px",
                    width="100%",
                    role="list",
                    aria_label="Quick replies",
                ),
            ),
            spacing="1",
            width="100%",
            align="stretch",
        ),
        id=id,
        role="figure",
        aria_label="Message preview",
        background=CHAT_BG,
        background_image="radial-gradient(rgba(0,0,0,0.045) 1px, transparent 1px)",
        background_size="14px 14px",
        border_radius="12px",
        padding="12px 14px 14px 10px",
        width=width,
        style={"fontFamily": "'Segoe UI', Helvetica, Arial, sans-serif"},
    )


EMPTY_PREVIEW = PreviewView()
