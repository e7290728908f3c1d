"""Templates: the synced catalogue (read side), the send form, the preview and what a message
costs. Sending and its pre-flight checks: :mod:`ctreflex.services.template_send`; the view
models and the preview builder: :mod:`ctreflex.services.template_views`.

Templates are created and edited in Meta only; here they are read-only rows kept fresh by a
sync and by Meta's status webhooks.

The composer's picker needs, in order: :func:`list_templates` (``sendable_only=True``,
``prefer_language=`` the conversation's), :func:`template_form` for the fields,
:func:`preview` on every keystroke, ``template_send.validate_send`` to mark fields,
:func:`cost` for the price line, and ``template_send.send_template``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from babel.dates import format_date
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Account, Conversation, Plan, Template, utc_now
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import graph, template_sync
from ctreflex.services.crypto import decrypt
from ctreflex.services.l10n import LOCALE, format_money, language_name
from ctreflex.services.outbound import window_open
from ctreflex.services.template_views import (
    CostView,
    FormField,
    PreviewButton,
    PreviewView,
    SyncResult,
    TemplateDetail,
    TemplateRow,
    TextSegment,
    preview_from_payload,
    preview_view,
    segments,
)
from ctreflex.whatsapp import GraphError
from ctreflex.whatsapp.client import TEMPLATE_FIELDS
from ctreflex.whatsapp.models import Template as WaTemplate
from ctreflex.whatsapp.templates import FieldSpec, render_preview, required_fields

log = logging.getLogger("ctreflex.templates")

# the view models are part of this module's interface (pages and components import them here)
__all__ = [
    "CATEGORIES",
    "STATUSES",
    "CostView",
    "FormField",
    "PreviewButton",
    "PreviewView",
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
    "segments",
    "sync_account_templates",
    "template_form",
    "to_graph",
]

SYNC_FIELDS = f"{TEMPLATE_FIELDS},quality_score,rejected_reason"
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
SENDABLE = {"MARKETING", "UTILITY"}


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
        updated=format_date(t.updated_at, "dd MMM y", locale=LOCALE) if t.updated_at else "",
        language_name=language_name(t.language),
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
