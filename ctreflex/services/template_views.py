"""Templates' view models (rows, form fields, preview, price line) and the preview builder."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ctreflex.whatsapp.templates import RenderedTemplate

# ----------------------------------------------------------------------------- view models


@dataclasses.dataclass(frozen=True)
class TemplateRow:
    """One line of the catalogue (the templates page and the picker)."""

    id: int
    name: str
    language: str
    category: str
    status: str
    quality: str
    rejected_reason: str
    body: str
    header: str  # "" | "text" | "image" | "video" | "document" | …
    buttons: int
    sendable: bool  # APPROVED and MARKETING/UTILITY
    updated: str
    language_name: str = ""  # "English (United States)" for en_US


@dataclasses.dataclass(frozen=True)
class FormField:
    """One input of the picker's form (a FieldSpec, flattened for the UI)."""

    key: str  # header.text | header.media | body.1 | body.name | button.0.url_suffix | …
    label: str
    kind: str  # text | image | video | document | url_suffix | coupon_code | payload
    example: str
    required: bool
    max_length: int  # 0: no limit
    is_media: bool


@dataclasses.dataclass(frozen=True)
class TextSegment:
    """A run of body text with WhatsApp's formatting (*bold*, _italic_, ~strike~, ```mono```)."""

    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    mono: bool = False
    placeholder: bool = False  # a variable still unfilled: {{1}}


@dataclasses.dataclass(frozen=True)
class PreviewButton:
    kind: str  # URL | PHONE_NUMBER | COPY_CODE | QUICK_REPLY | OTHER
    text: str
    detail: str  # the URL, the phone number, the code or the payload
    icon: str  # lucide icon name


@dataclasses.dataclass(frozen=True)
class PreviewView:
    """What :func:`ctreflex.components.template_preview.template_preview` draws."""

    header_kind: str = ""  # "" | text | image | video | document
    header_text: str = ""
    header_media_url: str = ""  # a thumbnail when known, else the placeholder is drawn
    header_media_name: str = ""
    body: str = ""
    segments: list[TextSegment] = dataclasses.field(default_factory=list)
    footer: str = ""
    buttons: list[PreviewButton] = dataclasses.field(default_factory=list)
    quick_replies: list[PreviewButton] = dataclasses.field(default_factory=list)
    time: str = ""


@dataclasses.dataclass(frozen=True)
class TemplateDetail:
    row: TemplateRow
    preview: PreviewView
    fields: list[FormField]
    example_values: dict[str, str]


@dataclasses.dataclass(frozen=True)
class CostView:
    """The price line under the composer, for templates and free-form messages alike."""

    category: str  # marketing | utility | authentication | service | sms
    category_label: str
    meta_charged: bool
    meta_note: str  # "Free: …" or "Billed by Meta directly …"
    platform_fee_minor: int
    currency: str
    platform_fee: str  # "$0.01"
    summary: str  # one line for the composer


@dataclasses.dataclass
class SyncResult:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def message(self) -> str:
        if self.errors and not (self.added or self.updated or self.unchanged):
            return "Sync failed: " + "; ".join(self.errors)
        parts = [f"{self.added} new", f"{self.updated} updated"]
        if self.removed:
            parts.append(f"{self.removed} removed in Meta")
        text = "Templates synced: " + ", ".join(parts) + "."
        if self.errors:
            text += " Some numbers failed: " + "; ".join(self.errors)
        return text


# ----------------------------------------------------------------------------- preview

_FORMAT = re.compile(r"```(.+?)```|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|(\{\{\s*\w+\s*\}\})", re.S)


def segments(text: str) -> list[TextSegment]:
    """Split body text into WhatsApp formatting runs; unfilled ``{{n}}`` are marked."""
    out: list[TextSegment] = []
    pos = 0
    for m in _FORMAT.finditer(text or ""):
        if m.start() > pos:
            out.append(TextSegment(text[pos : m.start()]))
        mono, bold, italic, strike, placeholder = m.groups()
        if mono is not None:
            out.append(TextSegment(mono, mono=True))
        elif bold is not None:
            out.append(TextSegment(bold, bold=True))
        elif italic is not None:
            out.append(TextSegment(italic, italic=True))
        elif strike is not None:
            out.append(TextSegment(strike, strike=True))
        else:
            out.append(TextSegment(placeholder, placeholder=True))
        pos = m.end()
    if pos < len(text or ""):
        out.append(TextSegment(text[pos:]))
    return out


_BUTTON_ICONS = {
    "URL": "external-link",
    "PHONE_NUMBER": "phone",
    "COPY_CODE": "copy",
    "QUICK_REPLY": "reply",
}


def preview_view(
    rendered: RenderedTemplate | Mapping[str, Any],
    *,
    media_url: str = "",
    media_name: str = "",
    time: str = "",
) -> PreviewView:
    """A :class:`RenderedTemplate` (or its dict, as stored in a message's payload) as the
    preview component's view."""
    r = rendered if isinstance(rendered, Mapping) else dataclasses.asdict(rendered)
    buttons: list[PreviewButton] = []
    quick: list[PreviewButton] = []
    for b in r.get("buttons") or []:
        kind = str(b.get("type") or "").upper()
        if kind == "URL":
            pb = PreviewButton(kind, b.get("text") or "Visit website", b.get("url") or "", "")
        elif kind == "PHONE_NUMBER":
            pb = PreviewButton(kind, b.get("text") or "Call", b.get("phone_number") or "", "")
        elif kind == "COPY_CODE":
            pb = PreviewButton(kind, b.get("text") or "Copy code", b.get("code") or "", "")
        elif kind == "QUICK_REPLY":
            pb = PreviewButton(kind, b.get("text") or "", b.get("payload") or "", "")
        else:
            pb = PreviewButton("OTHER", b.get("text") or kind.title(), "", "")
        pb = dataclasses.replace(pb, icon=_BUTTON_ICONS.get(pb.kind, "square-mouse-pointer"))
        (quick if pb.kind == "QUICK_REPLY" else buttons).append(pb)
    header_kind = r.get("header_media_kind") or ("text" if r.get("header_text") else "")
    media_ref = r.get("header_media") or {}
    if not media_url and isinstance(media_ref, Mapping):
        link = media_ref.get("link") or ""
        media_url = link if header_kind == "image" and link.startswith("https://") else ""
        media_name = media_name or media_ref.get("filename") or ""
    body = r.get("body") or ""
    return PreviewView(
        header_kind=header_kind,
        header_text=r.get("header_text") or "",
        header_media_url=media_url,
        header_media_name=media_name,
        body=body,
        segments=segments(body),
        footer=r.get("footer") or "",
        buttons=buttons,
        quick_replies=quick,
        time=time,
    )


def preview_from_payload(payload: Mapping[str, Any] | None, *, media_url: str = "") -> PreviewView:
    """The preview of a sent template message, from ``Message.payload`` (for the thread)."""
    rendered = (payload or {}).get("rendered") or {}
    return preview_view(rendered, media_url=media_url)
