"""Parse the provider's form-encoded webhooks: incoming messages and delivery receipts."""

from __future__ import annotations

from urllib.parse import parse_qsl

from ctreflex.sms.models import InboundMedia, InboundSMS, StatusCallback


class SMSWebhookError(ValueError):
    """A webhook body this adapter cannot read (kept in the journal as rejected)."""


def parse_form(body: bytes | str) -> list[tuple[str, str]]:
    """The POST parameters in order (names may repeat; the signature needs them all)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise SMSWebhookError(f"not a form-encoded body: {exc}") from exc


def _require(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise SMSWebhookError(f"missing {name}")
    return value


def parse_inbound(body: bytes | str | dict[str, str]) -> InboundSMS:
    params = body if isinstance(body, dict) else dict(parse_form(body))
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise SMSWebhookError("missing MessageSid")
    try:
        num_media = int(params.get("NumMedia") or 0)
        num_segments = int(params.get("NumSegments") or 1)
    except ValueError as exc:
        raise SMSWebhookError(f"bad NumMedia/NumSegments: {exc}") from exc
    media = []
    for i in range(max(0, min(num_media, 10))):
        url = params.get(f"MediaUrl{i}", "")
        if url:
            media.append(InboundMedia(url=url, content_type=params.get(f"MediaContentType{i}", "")))
    return InboundSMS(
        message_sid=sid,
        account_sid=_require(params, "AccountSid"),
        from_=_require(params, "From"),
        to=_require(params, "To"),
        body=params.get("Body", ""),
        num_segments=num_segments,
        media=media,
        from_country=params.get("FromCountry", ""),
    )


def parse_status(body: bytes | str | dict[str, str]) -> StatusCallback:
    params = body if isinstance(body, dict) else dict(parse_form(body))
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise SMSWebhookError("missing MessageSid")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not status:
        raise SMSWebhookError("missing MessageStatus")
    raw_code = (params.get("ErrorCode") or "").strip()
    try:
        code = int(raw_code) if raw_code else None
    except ValueError as exc:
        raise SMSWebhookError(f"bad ErrorCode {raw_code!r}") from exc
    return StatusCallback(
        message_sid=sid,
        account_sid=_require(params, "AccountSid"),
        message_status=status,
        from_=params.get("From", ""),
        to=params.get("To", ""),
        error_code=code,
    )
