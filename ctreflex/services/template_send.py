"""Sending a template: pre-flight checks before any Graph API call, then the send."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlmodel import Session

from ctreflex import db
from ctreflex.models import Contact, Conversation, MediaFile, Template
from ctreflex.services import graph, media, number_limits, optouts, phones
from ctreflex.services.outbound import (
    SendRefused,
    _deliver,
    _pending,
    _provider_media_id,
    _publish,
    _reply_target,
    _target,
)
from ctreflex.services.templates import SENDABLE, _get, to_graph
from ctreflex.whatsapp import GraphError, SendResult
from ctreflex.whatsapp.limits import MEDIA_RULES, MediaRuleError, classify_upload
from ctreflex.whatsapp.templates import FieldError, MediaRef, build_components, render_preview

__all__ = [
    "OPTED_OUT_REASON",
    "STATUS_REASONS",
    "US_MARKETING_REASON",
    "SendRefused",
    "send_template",
    "validate_send",
]

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


def _recipient_checks(session: Session, row: Template, contact: Contact | None) -> list[FieldError]:
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
    number = number_limits.whatsapp_number_for(
        session=session, account_id=account_id, conversation_id=conversation_id
    )
    if number is not None and row is not None:
        refusal = number_limits.limit_refusal(
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
        refusal = number_limits.limit_refusal(
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

    call = template_call(
        client, number, to, tpl=tpl, values=values, name=name, language=language,
        media_file=media_file, quoted=quoted, callback=callback,
    )
    return await _deliver(message_id, call)


def template_call(
    client, number, to, *, tpl, values, name, language, media_file, quoted, callback
) -> Callable[[], Awaitable[SendResult]]:
    """The Graph API call that sends a template with its values (the first send and the
    outbox's later tries): the header's file uploaded first, the components built again."""

    async def call() -> SendResult:
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

    return call
