"""The common webhook body decoded in one pass: :func:`decode_plain` (msgspec, C speed).

The processor's fast path sees mostly one shape: one ``messages`` change holding plain inbound
texts and delivery statuses. Parsing those with :func:`.webhooks.parse_webhook` (the standard
``json`` module, then a tree of tolerant pydantic models, each message validated twice by
``InboundMessage``'s salvage validator) was a third of the CPU per message; msgspec decodes the
JSON text straight into the light Structs below.

The rule that keeps every guarantee: a body is decoded here only when the full parser would
give the same values for it. Every Struct forbids unknown fields and declares only fields with
a type at most as permissive as its pydantic model's (no coercion of numbers to strings, no
"true" for a bool, ids bounded like ``MessageId``/``WaId``, the same truncation of a profile
name). No float field and no free-form (``Any``) field exist here, so a number out of range or
a structure nested deeper than ``MAX_DEPTH`` cannot be taken in. Bodies over
``MAX_BODY_BYTES``, bodies with an escape the full parser rewrites to U+FFFD (NUL here; msgspec
refuses a lone surrogate) and bodies with more than ``MAX_PARTS`` parts are not decoded here
either; a repeated key keeps its last value in both. Anything
else (``None``) goes to ``parse_webhook``: other kinds, bad parts, hostile bodies, a field Meta
adds tomorrow: slower, never different. Guarded by tests/whatsapp/test_plain.py (same values as
``parse_webhook`` on every fixture and on edge cases; ``None`` wherever they could differ).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from .safe_json import MAX_BODY_BYTES, MAX_PARTS
from .webhook_messages import INT32, epoch_to_datetime

__all__ = ["PlainBody", "PlainMessage", "PlainStatus", "PlainValue", "decode_plain"]

WaId = Annotated[str, msgspec.Meta(max_length=32)]
MessageId = Annotated[str, msgspec.Meta(max_length=128)]
Code = Annotated[int, msgspec.Meta(ge=-INT32, le=INT32)]


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Only declared fields (unknown ones: the full parser, which keeps them)."""


class PlainMetadata(_Strict):
    phone_number_id: str
    display_phone_number: str | None = None


class PlainProfile(_Strict):
    name: str | None = None
    username: str | None = None

    def __post_init__(self) -> None:
        if self.name:
            self.name = self.name[:120]  # as webhooks.Profile: the contact's name column


class PlainContact(_Strict):
    profile: PlainProfile | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def name(self) -> str | None:
        return self.profile.name if self.profile else None


class PlainText(_Strict):
    body: str = ""


class PlainContext(_Strict):
    from_: str | None = msgspec.field(default=None, name="from")
    id: MessageId | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False


class PlainMessage(_Strict):
    from_: WaId = msgspec.field(name="from")
    id: MessageId
    timestamp: str
    type: str
    from_user_id: str | None = None
    text: PlainText | None = None
    context: PlainContext | None = None

    @property
    def timestamp_utc(self) -> datetime | None:
        return epoch_to_datetime(self.timestamp)

    @property
    def reply_to_id(self) -> str | None:
        return self.context.id if self.context else None


class PlainOrigin(_Strict):
    type: str | None = None


class PlainConversation(_Strict):
    id: str | None = None
    expiration_timestamp: str | None = None
    origin: PlainOrigin | None = None


class PlainPricing(_Strict):
    billable: bool | None = None
    pricing_model: str | None = None
    category: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    type: str | None = None


class PlainErrorData(_Strict):
    details: str | None = None


class PlainError(_Strict):
    code: Code | None = None
    title: str | None = None
    message: str | None = None
    error_data: PlainErrorData | None = None
    href: str | None = None

    @property
    def details(self) -> str | None:
        return self.error_data.details if self.error_data else None


class PlainStatus(_Strict):
    id: MessageId
    status: str
    timestamp: str
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: PlainConversation | None = None
    pricing: PlainPricing | None = None
    errors: list[PlainError] = []

    @property
    def timestamp_utc(self) -> datetime | None:
        return epoch_to_datetime(self.timestamp)

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def error(self) -> PlainError | None:
        return self.errors[0] if self.errors else None


class PlainValue(_Strict):
    metadata: PlainMetadata
    messaging_product: str | None = "whatsapp"
    contacts: list[PlainContact] = []
    messages: list[PlainMessage] = []
    statuses: list[PlainStatus] = []
    errors: list[PlainError] = []

    def contact_for(self, wa_id: str | None) -> PlainContact | None:
        if wa_id is None:
            return None
        return next((c for c in self.contacts if c.wa_id == wa_id), None)


class PlainChange(_Strict):
    field: str
    value: PlainValue


class PlainEntry(_Strict):
    id: str
    time: int | None = None
    changes: list[PlainChange] = []


class PlainBody(_Strict):
    object: str
    entry: list[PlainEntry]

    def parts(self) -> int:
        """Entries, changes, messages, statuses and contacts (parse_webhook's MAX_PARTS)."""
        count = len(self.entry)
        for entry in self.entry:
            count += len(entry.changes)
            for change in entry.changes:
                value = change.value
                count += len(value.messages) + len(value.statuses) + len(value.contacts)
        return count


_decoder = msgspec.json.Decoder(PlainBody)


def decode_plain(text: str) -> PlainBody | None:
    """The body as PlainBody when it has exactly the plain shape (same values as
    parse_webhook would give); None otherwise: then use parse_webhook."""
    if len(text) > MAX_BODY_BYTES or "\\u0000" in text:
        return None  # NUL: the full parser stores U+FFFD (msgspec refuses lone surrogates)
    try:
        body = _decoder.decode(text)
    except (msgspec.DecodeError, UnicodeEncodeError):
        return None
    if body.parts() > MAX_PARTS:
        return None
    if any(c.field != "messages" for e in body.entry for c in e.changes):
        return None  # the full parser keeps another field's value as a raw dict
    return body
