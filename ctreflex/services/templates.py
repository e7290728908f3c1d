"""Templates: the synced catalogue (read side), the send form, the preview, pre-flight checks,
sending outside the 24-hour window, and what a message costs.

Templates are created and edited in Meta only; here they are read-only rows kept fresh by a
sync and by Meta's status webhooks. Sending runs every check before any Graph API call, so a
template Meta would reject for its shape (132000, 132012, …), its status (132015 paused) or its
recipient (marketing to the United States) never leaves.

The composer's picker needs, in order: :func:`list_templates` (``sendable_only=True``,
``prefer_language=`` the conversation's), :func:`template_form` for the fields,
:func:`preview` on every keystroke, :func:`validate_send` to mark fields, :func:`cost` for the
price line, and :func:`send_template`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import (
    Account,
    Contact,
    Conversation,
    MediaFile,
    Plan,
    Template,
    utc_now,
)
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import graph, media, numbers, optouts, phones, template_sync
from ctreflex.services.admin import format_money
from ctreflex.services.crypto import decrypt
from ctreflex.services.outbound import (
    SendRefused,
    _deliver,
    _pending,
    _provider_media_id,
    _publish,
    _reply_target,
    _target,
    window_open,
)
from ctreflex.whatsapp import GraphError
from ctreflex.whatsapp.client import TEMPLATE_FIELDS
from ctreflex.whatsapp.limits import MediaRuleError, classify_upload
from ctreflex.whatsapp.models import Template as WaTemplate
from ctreflex.whatsapp.templates import (
    FieldError,
    FieldSpec,
    MediaRef,
    RenderedTemplate,
    build_components,
    render_preview,
    required_fields,
)

log = logging.getLogger("ctreflex.templates")

__all__ = [
    "CATEGORIES",
    "STATUSES",
    "CostView",
    "FormField",
    "PreviewButton",
    "PreviewView",
    "SendRefused",
    "SyncResult",
    "TemplateDetail",
    "TemplateRow",
    "TextSegment",
    "cost",
    "example_values",
    "get_detail",
    "languages",
    "list_templates",
    "preview",
    "preview_from_payload",
    "preview_view",
    "send_template",
    "sync_account_templates",
    "template_form",
    "to_graph",
    "validate_send",
]

SYNC_FIELDS = f"{TEMPLATE_FIELDS},quality_score,rejected_reason"
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
SENDABLE = {"MARKETING", "UTILITY"}
US_MARKETING_REASON = (
    "Meta does not deliver marketing templates to United States phone numbers (paused since "
    "1 April 2025; WhatsApp answers with error 131049, “not delivered to maintain healthy "
    "ecosystem engagement”). Send a utility template, or wait for the customer to write."
)
OPTED_OUT_REASON = (
    "This customer opted out of marketing messages. Only utility templates, or replies while "
    "the 24-hour window is open, can reach them."
)
STATUS_REASONS = {
    "PAUSED": "Meta paused this template because of low quality ratings (error 132015). "
    "Choose another template.",
    "DISABLED": "Meta disabled this template for low quality (error 132016). "
    "Choose another template.",
    "PENDING": "This template is still in Meta's review; only approved templates can be sent.",
    "REJECTED": "Meta rejected this template; only approved templates can be sent.",
    "DELETED": "This template was deleted in Meta.",
}


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


# ----------------------------------------------------------------------------- helpers


def to_graph(row: Template) -> WaTemplate:
    """The stored row as the Cloud API model the component builder works on."""
    return WaTemplate.model_validate(
        {
            "id": row.provider_template_id,
            "name": row.name,
            "language": row.language,
            "status": row.status,
            "category": row.category,
            "parameter_format": row.parameter_format,
            "components": row.components or [],
            "rejected_reason": row.rejected_reason,
        }
    )


def _header_kind(row: Template) -> str:
    for comp in row.components or []:
        if str(comp.get("type", "")).upper() == "HEADER":
            return str(comp.get("format") or "TEXT").lower()
    return ""


def _body_text(row: Template) -> str:
    for comp in row.components or []:
        if str(comp.get("type", "")).upper() == "BODY":
            return str(comp.get("text") or "")
    return ""


def _button_count(row: Template) -> int:
    for comp in row.components or []:
        if str(comp.get("type", "")).upper() == "BUTTONS":
            return len(comp.get("buttons") or [])
    return 0


def _sendable(row: Template) -> bool:
    return row.status.upper() == "APPROVED" and row.category.upper() in SENDABLE


def _row(t: Template) -> TemplateRow:
    return TemplateRow(
        id=t.id,
        name=t.name,
        language=t.language,
        category=t.category.upper(),
        status=t.status.upper(),
        quality=(t.quality or "UNKNOWN").upper(),
        rejected_reason=t.rejected_reason or "",
        body=_body_text(t),
        header=_header_kind(t),
        buttons=_button_count(t),
        sendable=_sendable(t),
        updated=t.updated_at.strftime("%d %b %Y") if t.updated_at else "",
    )


def _get(session: Session, account_id: int, template_id: int) -> Template | None:
    row = session.get(Template, template_id)
    if row is None or row.account_id != account_id:
        return None
    return row


# ----------------------------------------------------------------------------- read side


def list_templates(
    *,
    session: Session,
    account_id: int,
    search: str = "",
    status: str = "",
    category: str = "",
    language: str = "",
    sendable_only: bool = False,
    prefer_language: str = "",
) -> list[TemplateRow]:
    """The account's templates, filtered. ``search`` matches the name or the body text.

    ``sendable_only`` keeps APPROVED marketing and utility templates (the picker);
    ``prefer_language`` (e.g. ``es`` or ``es_MX``) sorts that language first.
    """
    stmt = select(Template).where(Template.account_id == account_id)
    if status:
        stmt = stmt.where(Template.status == status.upper())
    else:
        stmt = stmt.where(Template.status != "DELETED")
    if category:
        stmt = stmt.where(Template.category == category.upper())
    if language:
        stmt = stmt.where(Template.language == language)
    rows = [_row(t) for t in session.exec(stmt).all()]
    needle = " ".join(search.lower().split())
    if needle:
        rows = [
            r
            for r in rows
            if needle in r.name.lower()
            or needle in r.name.lower().replace("_", " ")
            or needle in " ".join(r.body.lower().split())
        ]
    if sendable_only:
        rows = [r for r in rows if r.sendable]
    pref = prefer_language.lower()
    base = pref.split("_")[0]

    def rank(r: TemplateRow) -> tuple:
        lang = r.language.lower()
        first = 0 if pref and lang == pref else 1 if base and lang.split("_")[0] == base else 2
        return (first, r.name, r.language)

    return sorted(rows, key=rank)


def languages(*, session: Session, account_id: int) -> list[str]:
    rows = session.exec(
        select(Template.language).where(Template.account_id == account_id).distinct()
    ).all()
    return sorted(set(rows))


def _form_field(spec: FieldSpec) -> FormField:
    return FormField(
        key=spec.key,
        label=spec.label,
        kind=spec.kind,
        example=spec.example or "",
        required=spec.required,
        max_length=spec.max_length or 0,
        is_media=spec.kind in ("image", "video", "document"),
    )


def template_form(*, session: Session, account_id: int, template_id: int) -> list[FormField]:
    """One form field per variable, in display order (empty when the template is unknown)."""
    row = _get(session, account_id, template_id)
    if row is None:
        return []
    return [_form_field(s) for s in required_fields(to_graph(row))]


def example_values(template: WaTemplate) -> dict[str, str]:
    """The examples Meta approved, keyed like the form (header media left out)."""
    return {
        s.key: s.example
        for s in required_fields(template)
        if s.example and s.kind not in ("image", "video", "document")
    }


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


def preview(
    *,
    session: Session,
    account_id: int,
    template_id: int,
    values: Mapping[str, Any] | None = None,
    use_examples: bool = False,
    media_url: str = "",
) -> PreviewView:
    """The template filled with ``values`` (or Meta's approved examples), as WhatsApp shows it.

    Unfilled variables stay visible as ``{{n}}`` (marked ``placeholder``).
    """
    row = _get(session, account_id, template_id)
    if row is None:
        return PreviewView()
    tpl = to_graph(row)
    vals: dict[str, Any] = {}
    if use_examples:
        vals.update(example_values(tpl))
    vals.update({k: v for k, v in (values or {}).items() if v not in (None, "")})
    return preview_view(render_preview(tpl, vals), media_url=media_url)


def get_detail(*, session: Session, account_id: int, template_id: int) -> TemplateDetail | None:
    """A template with its example-filled preview and its form (the templates page's panel)."""
    row = _get(session, account_id, template_id)
    if row is None:
        return None
    tpl = to_graph(row)
    return TemplateDetail(
        row=_row(row),
        preview=preview(
            session=session, account_id=account_id, template_id=template_id, use_examples=True
        ),
        fields=[_form_field(s) for s in required_fields(tpl)],
        example_values=example_values(tpl),
    )


# ----------------------------------------------------------------------------- pre-flight


def _media_check(
    session: Session, account_id: int, media_file_id: int
) -> tuple[MediaFile | None, list[FieldError]]:
    mf = session.get(MediaFile, media_file_id)
    if mf is None or mf.account_id != account_id or mf.state != "ready":
        return None, [
            FieldError("header.media", "The header file is not available; attach it again.")
        ]
    head = b""
    try:
        with media.absolute_path(mf).open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        if not mf.provider_media_id:
            return mf, [FieldError("header.media", "The header file is missing; attach it again.")]
    try:
        if head:
            classify_upload(head, mf.mime_type, mf.size)
        else:  # only known by its WhatsApp id: trust the stored type, check the size
            from ctreflex.whatsapp.limits import MEDIA_RULES

            rule = MEDIA_RULES.get(mf.kind)
            if rule is None or mf.mime_type not in rule.mime_types:
                raise MediaRuleError(f"A {mf.mime_type} file can't be a template header.")
            if mf.size > rule.max_bytes:
                raise MediaRuleError(
                    f"{mf.kind.title()} headers can be up to {rule.max_mb} MB; this file is "
                    f"{mf.size / 1_000_000:.1f} MB."
                )
    except MediaRuleError as exc:
        return mf, [FieldError("header.media", getattr(exc, "user_message", None) or str(exc))]
    return mf, []


def _recipient_checks(
    session: Session, row: Template, contact: Contact | None
) -> list[FieldError]:
    if row.category.upper() != "MARKETING" or contact is None:
        return []
    errors: list[FieldError] = []
    if phones.is_us(contact.e164):
        errors.append(FieldError("template", US_MARKETING_REASON))
    # The one opt-out rule (services/optouts.can_send): a WhatsApp or agent-recorded marketing
    # opt-out, or an SMS STOP, refuses marketing on every channel.
    ok, why = optouts.can_send(
        session=session, contact_id=contact.id, channel="whatsapp", marketing=True
    )
    if not ok:
        errors.append(
            FieldError(
                "template",
                f"{why} Only utility templates, or replies while the 24-hour window is open, "
                "can reach them.",
            )
        )
    return errors


def _status_checks(row: Template | None) -> list[FieldError]:
    if row is None:
        return [FieldError("template", "This template does not exist in your account.")]
    errors: list[FieldError] = []
    status = row.status.upper()
    if status != "APPROVED":
        errors.append(
            FieldError(
                "template",
                STATUS_REASONS.get(
                    status, f"This template is {status}; only approved templates can be sent."
                ),
            )
        )
    category = row.category.upper()
    if category not in SENDABLE:
        errors.append(
            FieldError(
                "template",
                f"{category.title()} templates can't be sent from the inbox; only marketing and "
                "utility templates can.",
            )
        )
    return errors


def _values_with_media(values: Mapping[str, Any], mf: MediaFile | None) -> dict[str, Any]:
    vals = dict(values or {})
    if mf is not None:
        vals["header.media"] = MediaRef(
            kind=mf.kind,
            media_id=mf.provider_media_id or f"local-{mf.id}",
            filename=mf.filename or None,
        )
    return vals


def _preflight(
    session: Session,
    *,
    account_id: int,
    row: Template | None,
    contact: Contact | None,
    values: Mapping[str, Any],
    header_media_file_id: int | None,
) -> tuple[list[FieldError], MediaFile | None]:
    errors = _status_checks(row)
    if row is None:
        return errors, None
    errors += _recipient_checks(session, row, contact)
    mf = None
    if header_media_file_id is not None:
        mf, media_errors = _media_check(session, account_id, header_media_file_id)
        errors += media_errors
    build = build_components(to_graph(row), _values_with_media(values, mf))
    seen = {(e.field, e.message) for e in errors}
    errors += [e for e in build.errors if (e.field, e.message) not in seen]
    return errors, mf


def validate_send(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    template_id: int,
    values: Mapping[str, Any],
    header_media_file_id: int | None = None,
) -> list[FieldError]:
    """Every reason the template can't be sent now, as ``(field, message)`` pairs.

    Fields: ``template`` (status, category, US marketing block, marketing opt-out),
    ``header.text``, ``header.media``, ``body.<n|name>``, ``button.<i>.…``, ``conversation``.
    An empty list means the send will be attempted.
    """
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        return [FieldError("conversation", "This conversation does not exist in your account.")]
    contact = session.get(Contact, conv.contact_id)
    row = _get(session, account_id, template_id)
    errors, _ = _preflight(
        session,
        account_id=account_id,
        row=row,
        contact=contact,
        values=values,
        header_media_file_id=header_media_file_id,
    )
    number = numbers.whatsapp_number_for(
        session=session, account_id=account_id, conversation_id=conversation_id
    )
    if number is not None and row is not None:
        refusal = numbers.limit_refusal(
            session=session, number_id=number.id, conversation_id=conversation_id
        )
        if refusal:
            errors.append(FieldError("number", refusal))
    return errors


def _clean_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(k): str(v)
        for k, v in (values or {}).items()
        if k != "header.media" and isinstance(v, str | int | float)
    }


async def send_template(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    template_id: int,
    values: dict[str, str],
    header_media_file_id: int | None = None,
    reply_to_id: int | None = None,
) -> int:
    """Send an approved template (allowed whether the 24-hour window is open or closed).

    Raises :class:`SendRefused` naming the first offending field before any Graph API call.
    Returns the new message's id; it moves pending → accepted (or failed) like other sends.
    """
    with db.session_scope() as session:
        t = _target(session, account_id, conversation_id)
        row = _get(session, account_id, template_id)
        if row is not None:
            session.refresh(row)  # the status now, not when the page was drawn
        errors, mf = _preflight(
            session,
            account_id=account_id,
            row=row,
            contact=t.contact,
            values=values,
            header_media_file_id=header_media_file_id,
        )
        if errors:
            raise SendRefused(errors[0].message, errors[0].field)
        # Meta's messaging limit: a new customer beyond it would fail later; refuse it now.
        refusal = numbers.limit_refusal(
            session=session, number_id=t.number.id, conversation_id=t.conversation.id
        )
        if refusal:
            raise SendRefused(refusal, "number")
        reply = _reply_target(session, t, reply_to_id)
        tpl = to_graph(row)
        preview_vals = _values_with_media(values, mf)
        rendered = render_preview(tpl, preview_vals)
        payload = {
            "template": row.name,
            "language": row.language,
            "category": row.category.upper(),
            "values": _clean_values(values),
            "rendered": dataclasses.asdict(rendered),
        }
        message = _pending(
            session,
            t,
            user_id=user_id,
            kind="template",
            body=rendered.body,
            media_id=mf.id if mf is not None else None,
            reply=reply,
            payload=payload,
        )
        message.template_id = row.id
        session.add(message)
        session.commit()
        message_id = message.id
        callback = message.callback_id  # echoed in status webhooks (outbound.reconcile_status)
        number = t.number
        to = t.contact.wa_id or t.contact.e164
        quoted = reply.provider_message_id if reply else None
        client = graph.client_for(t.number)
        name, language = row.name, row.language
        media_file = mf
    await _publish(account_id, conversation_id, message_id)

    async def call():
        vals = dict(values or {})
        if media_file is not None:
            provider_id = await _provider_media_id(client, number, media_file)
            vals["header.media"] = MediaRef(
                kind=media_file.kind, media_id=provider_id, filename=media_file.filename or None
            )
        build = build_components(tpl, vals)
        if build.errors:  # cannot happen after the pre-flight; never send a wrong shape
            raise GraphError(build.errors[0].message)
        return await client.send_template(
            number.phone_number_id,
            to,
            name=name,
            language=language,
            components=build.components,
            reply_to=quoted,
            biz_opaque_callback_data=callback,
        )

    return await _deliver(message_id, call)


# ----------------------------------------------------------------------------- cost


def cost(
    *, session: Session, account_id: int, conversation_id: int, template_id: int | None
) -> CostView:
    """Meta's category for the next message and whether Meta charges it (since 1 July 2025:
    service replies free, utility inside an open window free, marketing and authentication
    always charged), plus the account's own per-message platform fee."""
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id) if account else None
    fee = plan.fee_minor if plan else 0
    currency = plan.currency if plan else "USD"
    conv = session.get(Conversation, conversation_id)
    is_open = conv is not None and conv.account_id == account_id and window_open(conv)
    row = _get(session, account_id, template_id) if template_id else None
    if row is None and conv is not None and conv.channel == "sms":
        return CostView(
            category="sms",
            category_label="SMS",
            meta_charged=False,
            meta_note="SMS: no WhatsApp charge.",
            platform_fee_minor=0,
            currency=currency,
            platform_fee=format_money(0, currency),
            summary="SMS message · carrier rates apply",
        )
    fee_text = format_money(fee, currency)
    if row is None:
        category, charged = "service", False
        note = (
            "Free: a reply inside the customer service window."
            if is_open
            else "Free-form replies are only possible while the 24-hour window is open."
        )
    else:
        category = row.category.lower()
        if category == "utility":
            charged = not is_open
            note = (
                "Free: utility template inside the open 24-hour window."
                if is_open
                else "Billed by Meta directly (utility rate for the customer's country)."
            )
        else:
            charged = True
            note = f"Billed by Meta directly ({category} rate for the customer's country)."
    label = category.title()
    meta = "billed by Meta" if charged else "free on Meta's side"
    return CostView(
        category=category,
        category_label=label,
        meta_charged=charged,
        meta_note=note,
        platform_fee_minor=fee,
        currency=currency,
        platform_fee=fee_text,
        summary=f"{label} · {meta} · {fee_text} platform fee",
    )


# ----------------------------------------------------------------------------- sync


async def sync_account_templates(account_id: int) -> SyncResult:
    """Fetch every template of the account's WABAs now (the "Sync templates" button).

    Upserts through :mod:`ctreflex.services.template_sync` (shared with the periodic job), but
    asks Graph for ``quality_score`` and ``rejected_reason`` too, marks templates Meta no longer
    lists as DELETED (kept: sent messages point at them), and tells open pages.
    """
    result = SyncResult()
    with db.session_scope() as session:
        wabas = template_sync.connected_wabas(session=session, account_id=account_id)
    if not wabas:
        result.errors.append("No connected WhatsApp number to sync templates from.")
        return result
    for acc, waba_id, token in wabas:
        shared = template_sync.SyncResult()
        try:
            client = graph.client_for_token(decrypt(token))
            fetched = [t async for t in client.iter_templates(waba_id, fields=SYNC_FIELDS)]
        except (GraphError, ValueError) as exc:
            log.warning("template sync for WABA %s failed: %s", waba_id, exc)
            result.errors.append(f"WABA {waba_id}: {exc}")
            continue
        with db.session_scope() as session:
            template_sync.upsert_templates(
                session=session, account_id=acc, waba_id=waba_id, templates=fetched, result=shared
            )
            seen = {str(t.id) for t in fetched if t.id}
            stale = session.exec(
                select(Template).where(
                    Template.account_id == acc,
                    Template.waba_id == waba_id,
                    Template.status != "DELETED",
                )
            ).all()
            for row in stale:
                if row.provider_template_id not in seen:
                    row.status = "DELETED"
                    row.updated_at = utc_now()
                    session.add(row)
                    result.removed += 1
        result.added += shared.created
        result.updated += shared.updated
        result.unchanged += shared.unchanged
    if result.added or result.updated or result.removed:
        await broker.publish(account_id, LiveEvent.template())
    return result
