"""Models for WhatsApp Cloud API webhook payloads, and :func:`parse_webhook`.

Tolerant by design: unknown fields are kept (``model_extra``), unknown message types and
unknown change ``field`` kinds are kept whole (``InboundMessage.raw`` / raw dict values), and a
malformed known payload (e.g. ``"image": "oops"``) is moved to ``payload_errors`` instead of
failing the whole batch; an entry, change, message, status or contact that does not fit its
model is left out and described in ``WebhookPayload.problems`` while the rest is kept. Only a
body that is not JSON (or nested deeper than :data:`MAX_DEPTH`, larger than
:data:`MAX_BODY_BYTES`, or holding NaN/Infinity) or not the envelope shape raises
:class:`WebhookParseError` (the receiver journals it and still answers 200). Every string is
storable: lone surrogates and NUL become U+FFFD.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .codes import ErrorHelp, describe_error

__all__ = [
    "AudioPayload",
    "ButtonPayload",
    "Change",
    "Contact",
    "ContactCard",
    "DocumentPayload",
    "Entry",
    "ImagePayload",
    "InboundMessage",
    "InteractivePayload",
    "LocationPayload",
    "MessageContext",
    "MessagesValue",
    "Metadata",
    "OrderPayload",
    "Pricing",
    "ReactionPayload",
    "Referral",
    "STATUS_RANK",
    "Status",
    "StickerPayload",
    "SystemPayload",
    "TemplateStatusUpdate",
    "TextPayload",
    "UnsupportedPayload",
    "VideoPayload",
    "WebhookError",
    "WebhookParseError",
    "WebhookPayload",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "clean_text",
    "epoch_to_datetime",
    "loads_json",
    "parse_webhook",
]


class WebhookParseError(ValueError):
    """The webhook body is not JSON or not a WhatsApp webhook envelope."""


# ---------------------------------------------------------------------------- safe JSON

MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's bodies are a few KB; the webhook route refuses more
MAX_DEPTH = 32  # Meta's deepest body (a contacts card) is 8 levels
# Messages + statuses in one body: Meta batches far fewer. More would hold the database's one
# write turn (SQLite) for long enough to delay every webhook's 200 behind it.
MAX_PARTS = 1000

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_RISKY_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _nesting_problem(text: str) -> str | None:
    """Why the JSON text cannot be parsed safely: nested deeper than MAX_DEPTH, or brackets
    that do not pair up; None when fine. Linear and at C speed (str.replace/split, no
    backtracking regex, no recursion): escapes out, strings out (every quote left delimits
    one), brackets only, then each pass removes the innermost pairs."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    outside = "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    brackets = _NOT_BRACKET.sub("", outside)
    for _ in range(MAX_DEPTH):
        inner = brackets.replace("[]", "").replace("{}", "")
        if not inner:
            return None
        if inner == brackets:
            return "webhook body is not valid JSON: its brackets do not pair up"
        brackets = inner
    return f"webhook body is nested deeper than {MAX_DEPTH} levels"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def clean_text(value: str) -> str:
    """The text with lone surrogates and NUL replaced by U+FFFD (storable in UTF-8 and in
    PostgreSQL's text)."""
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub("\ufffd", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def loads_json(text: str | bytes) -> Any:
    """json.loads for bodies from outside: at most MAX_BODY_BYTES, nested at most MAX_DEPTH
    levels (checked before the parser recurses), no NaN/Infinity, every string storable.
    Raises WebhookParseError with the reason."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_BODY_BYTES:
            raise WebhookParseError(f"webhook body is larger than {MAX_BODY_BYTES} bytes")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookParseError(f"webhook body is not UTF-8: {exc}") from exc
    elif len(text) > MAX_BODY_BYTES:
        raise WebhookParseError(f"webhook body is larger than {MAX_BODY_BYTES} bytes")
    problem = _nesting_problem(text)
    if problem:
        raise WebhookParseError(problem)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:  # unbalanced brackets deep enough to reach the parser's limit
        raise WebhookParseError(f"webhook body is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise WebhookParseError(f"webhook body is not valid JSON: {exc}") from exc
    if _RISKY_ESCAPE.search(text) is not None:
        data = _clean(data)
    return data


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


# Ids longer than the columns that keep them are not ids Meta sends: the part holding one is
# left out as malformed (never a database error that would fail the whole body).
WaId = Annotated[str, StringConstraints(max_length=32)]
MessageId = Annotated[str, StringConstraints(max_length=128)]
MediaId = Annotated[str, StringConstraints(max_length=64)]
INT32 = 2**31 - 1


def epoch_to_datetime(value: str | int | float | None) -> datetime | None:
    """Unix epoch seconds (string in webhooks) → aware UTC datetime; None if unparsable."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(float(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


# ---------------------------------------------------------------------------- errors


class ErrorData(_Model):
    details: str | None = None


class WebhookError(_Model):
    """``{code, title, message, error_data{details}, href?}`` (statuses/messages/value)."""

    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None

    @field_validator("error_data", mode="before")
    @classmethod
    def _error_data(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"details": v}
        return v if isinstance(v, dict) or v is None else None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, v: Any) -> Any:
        try:
            code = int(v) if v is not None else None
        except (TypeError, ValueError, OverflowError):
            return None
        return code if code is None or -INT32 <= code <= INT32 else None

    @property
    def details(self) -> str | None:
        return self.error_data.details if self.error_data else None

    @property
    def help(self) -> ErrorHelp:
        return describe_error(self.code)


# ---------------------------------------------------------------------------- envelope parts


class Metadata(_Model):
    display_phone_number: str | None = None
    phone_number_id: str


class Profile(_Model):
    name: str | None = None
    username: str | None = None

    @field_validator("name", mode="after")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return v[:120] if v else v  # the contact's profile name column


class Contact(_Model):
    profile: Profile | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def name(self) -> str | None:
        return self.profile.name if self.profile else None


# ---------------------------------------------------------------------------- message payloads


class TextPayload(_Model):
    body: str = ""


class _Media(_Model):
    id: MediaId
    mime_type: Annotated[str, StringConstraints(max_length=128)] | None = None
    sha256: Annotated[str, StringConstraints(max_length=64)] | None = None
    url: str | None = None


class ImagePayload(_Media):
    caption: str | None = None


class VideoPayload(_Media):
    caption: str | None = None


class DocumentPayload(_Media):
    caption: str | None = None
    filename: str | None = None


class AudioPayload(_Media):
    voice: bool = False


class StickerPayload(_Media):
    animated: bool = False


class LocationPayload(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactName(_Model):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class ContactPhone(_Model):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class ContactEmail(_Model):
    email: str | None = None
    type: str | None = None


class ContactOrg(_Model):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactAddress(_Model):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactUrl(_Model):
    url: str | None = None
    type: str | None = None


class ContactCard(_Model):
    """One vCard-like entry of a ``contacts`` message."""

    name: ContactName | None = None
    phones: list[ContactPhone] = Field(default_factory=list)
    emails: list[ContactEmail] = Field(default_factory=list)
    org: ContactOrg | None = None
    addresses: list[ContactAddress] = Field(default_factory=list)
    urls: list[ContactUrl] = Field(default_factory=list)
    birthday: str | None = None


class ButtonReply(_Model):
    id: str | None = None
    title: str | None = None


class ListReply(_Model):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class NfmReply(_Model):
    name: str | None = None
    body: str | None = None
    response_json: str | None = None

    @property
    def response(self) -> Any:
        try:
            return json.loads(self.response_json) if self.response_json else None
        except ValueError:
            return None


class InteractivePayload(_Model):
    type: str
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None
    nfm_reply: NfmReply | None = None

    @property
    def reply_id(self) -> str | None:
        reply = self.button_reply or self.list_reply
        return reply.id if reply else None

    @property
    def reply_title(self) -> str | None:
        reply = self.button_reply or self.list_reply
        return reply.title if reply else None


class ButtonPayload(_Model):
    """A tap on a template QUICK_REPLY button."""

    payload: str | None = None
    text: str | None = None


class ReactionPayload(_Model):
    message_id: MessageId
    emoji: Annotated[str, StringConstraints(max_length=16)] | None = None

    @property
    def removed(self) -> bool:
        """True when the customer removed their reaction (empty or absent emoji)."""
        return not self.emoji


class ProductItem(_Model):
    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class OrderPayload(_Model):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = Field(default_factory=list)


class SystemPayload(_Model):
    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    new_wa_id: str | None = None
    identity: str | None = None
    customer: str | None = None


class UnsupportedPayload(_Model):
    type: str | None = None


class ReferredProduct(_Model):
    catalog_id: str | None = None
    product_retailer_id: str | None = None


class MessageContext(_Model):
    from_: str | None = Field(default=None, alias="from")
    id: MessageId | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: ReferredProduct | None = None


class Referral(_Model):
    """Click-to-WhatsApp ad / post entry (its presence marks a free entry point)."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


_PAYLOAD_MODELS: dict[str, type[BaseModel]] = {
    "text": TextPayload,
    "image": ImagePayload,
    "video": VideoPayload,
    "document": DocumentPayload,
    "audio": AudioPayload,
    "sticker": StickerPayload,
    "location": LocationPayload,
    "interactive": InteractivePayload,
    "button": ButtonPayload,
    "reaction": ReactionPayload,
    "order": OrderPayload,
    "system": SystemPayload,
    "unsupported": UnsupportedPayload,
    "context": MessageContext,
    "referral": Referral,
}

#: Message types the model knows (anything else is kept raw and flagged ``is_known_type``).
KNOWN_MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "document",
        "audio",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "reaction",
        "order",
        "system",
        "unsupported",
    }
)


class InboundMessage(_Model):
    """One ``value.messages[]`` entry. ``raw`` always holds the original dict."""

    from_: WaId = Field(alias="from")
    id: MessageId
    timestamp: str
    type: str
    from_user_id: str | None = None
    context: MessageContext | None = None
    referral: Referral | None = None
    errors: list[WebhookError] = Field(default_factory=list)

    text: TextPayload | None = None
    image: ImagePayload | None = None
    video: VideoPayload | None = None
    document: DocumentPayload | None = None
    audio: AudioPayload | None = None
    sticker: StickerPayload | None = None
    location: LocationPayload | None = None
    contacts: list[ContactCard] | None = None
    interactive: InteractivePayload | None = None
    button: ButtonPayload | None = None
    reaction: ReactionPayload | None = None
    order: OrderPayload | None = None
    system: SystemPayload | None = None
    unsupported: UnsupportedPayload | None = None

    #: keys whose content did not match the expected shape (moved out, kept in ``raw``)
    payload_errors: dict[str, str] = Field(default_factory=dict)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerant(cls, data: Any, handler: Any) -> InboundMessage:
        raw = data if isinstance(data, dict) else None
        if raw is not None:
            data = dict(raw)
            bad: dict[str, str] = {}
            for key, model in _PAYLOAD_MODELS.items():
                if key in data and data[key] is not None:
                    try:
                        model.model_validate(data[key])
                    except ValidationError as exc:
                        bad[key] = _short(exc)
                        data.pop(key)
            if "contacts" in data and data["contacts"] is not None:
                try:
                    if not isinstance(data["contacts"], list):
                        raise TypeError("contacts is not a list")
                    for card in data["contacts"]:
                        ContactCard.model_validate(card)
                except (ValidationError, TypeError) as exc:
                    bad["contacts"] = _short(exc)
                    data.pop("contacts")
            if "errors" in data and not isinstance(data["errors"], list):
                bad["errors"] = "errors is not a list"
                data.pop("errors")
            if bad:
                data["payload_errors"] = bad
        model = handler(data)
        if raw is not None:
            model._raw = raw
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The message exactly as received (unknown types and fields included)."""
        return self._raw or self.model_dump(by_alias=True, exclude_none=True)

    @property
    def timestamp_utc(self) -> datetime | None:
        return epoch_to_datetime(self.timestamp)

    @property
    def is_known_type(self) -> bool:
        return self.type in KNOWN_MESSAGE_TYPES

    @property
    def payload(self) -> Any:
        """The typed payload for ``type`` (raw dict for unknown types, None if absent)."""
        if self.type in KNOWN_MESSAGE_TYPES:
            return getattr(self, self.type, None)
        return self._raw.get(self.type)

    @property
    def media(self) -> _Media | None:
        p = self.payload
        return p if isinstance(p, _Media) else None

    @property
    def reply_to_id(self) -> str | None:
        return self.context.id if self.context else None


class Conversation(_Model):
    id: str | None = None
    expiration_timestamp: str | None = None
    origin: dict[str, Any] | None = None

    @property
    def origin_type(self) -> str | None:
        return (self.origin or {}).get("type")


class Pricing(_Model):
    billable: bool | None = None
    pricing_model: str | None = None
    category: Annotated[str, StringConstraints(max_length=32)] | None = None
    type: str | None = None


#: Order for "never regress" status handling; ``failed`` is terminal and handled apart.
STATUS_RANK: dict[str, int] = {"sent": 1, "delivered": 2, "read": 3, "played": 4}


class Status(_Model):
    """One ``value.statuses[]`` entry about a message we sent."""

    id: MessageId
    status: str  # sent | delivered | read | failed | played | (unknown kept as is)
    timestamp: str
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] = Field(default_factory=list)

    @property
    def timestamp_utc(self) -> datetime | None:
        return epoch_to_datetime(self.timestamp)

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def rank(self) -> int:
        """0 for unknown statuses, failed = 100 (terminal)."""
        if self.status == "failed":
            return 100
        return STATUS_RANK.get(self.status, 0)

    @property
    def error(self) -> WebhookError | None:
        return self.errors[0] if self.errors else None


class MessagesValue(_Model):
    """``value`` of a ``field == "messages"`` change."""

    messaging_product: str | None = "whatsapp"
    metadata: Metadata
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[InboundMessage] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    errors: list[WebhookError] = Field(default_factory=list)

    def contact_for(self, wa_id: str | None) -> Contact | None:
        """The contact whose ``wa_id`` matches (batch-safe; not by index)."""
        if wa_id is None:
            return None
        return next((c for c in self.contacts if c.wa_id == wa_id), None)


class TemplateStatusUpdate(_Model):
    """``value`` of ``field == "message_template_status_update"``."""

    event: str | None = None
    message_template_id: str | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    reason: str | None = None


_VALUE_MODELS: dict[str, type[BaseModel]] = {
    "messages": MessagesValue,
    "message_template_status_update": TemplateStatusUpdate,
}


class Change(_Model):
    field: str
    #: MessagesValue, TemplateStatusUpdate, or the raw dict for other fields
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _typed_value(cls, data: Any) -> Any:
        if isinstance(data, dict):
            model = _VALUE_MODELS.get(str(data.get("field")))
            value = data.get("value")
            if model is not None and isinstance(value, dict):
                data = {**data, "value": model.model_validate(value)}
        return data

    @property
    def messages_value(self) -> MessagesValue | None:
        return self.value if isinstance(self.value, MessagesValue) else None


class Entry(_Model):
    id: str
    time: int | None = None
    changes: list[Change] = Field(default_factory=list)


class WebhookPayload(_Model):
    object: str
    entry: list[Entry] = Field(default_factory=list)

    #: parts left out because they did not fit their model ("entry[0].changes[1]...: why")
    _problems: list[str] = PrivateAttr(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self._problems

    def messages_values(self) -> Iterator[tuple[Entry, MessagesValue]]:
        for entry in self.entry:
            for change in entry.changes:
                if isinstance(change.value, MessagesValue):
                    yield entry, change.value

    def iter_messages(self) -> Iterator[tuple[MessagesValue, Contact | None, InboundMessage]]:
        """Every inbound message with its value (metadata) and matching contact."""
        for _, value in self.messages_values():
            for msg in value.messages:
                yield value, value.contact_for(msg.from_), msg

    def iter_statuses(self) -> Iterator[tuple[MessagesValue, Status]]:
        for _, value in self.messages_values():
            for st in value.statuses:
                yield value, st

    def template_updates(self) -> Iterator[TemplateStatusUpdate]:
        for entry in self.entry:
            for change in entry.changes:
                if isinstance(change.value, TemplateStatusUpdate):
                    yield change.value


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg', str(exc))}" if loc else str(first.get("msg", exc))
    return str(exc)


def parse_webhook(raw: bytes | bytearray | str | dict[str, Any]) -> WebhookPayload:
    """Parse a webhook body (raw bytes as received, text, or an already-decoded dict).

    A sub-object that does not fit (an entry, a change, a message, a status, a contact, an
    error) is left out and described in ``payload.problems``; the rest is kept."""
    data = raw if isinstance(raw, dict) else loads_json(raw)
    if not isinstance(data, dict):
        raise WebhookParseError("webhook body must be a JSON object")
    if "entry" not in data or not isinstance(data.get("entry"), list):
        raise WebhookParseError("webhook body has no 'entry' list")
    parts = _count_parts(data["entry"])
    if parts > MAX_PARTS:
        raise WebhookParseError(
            f"webhook body has {parts} entries, changes, messages and statuses; "
            f"at most {MAX_PARTS} are taken from one body"
        )
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError:
        pass  # the common case is one validation; only a body with a bad part comes here
    except RecursionError as exc:
        raise WebhookParseError(f"webhook body is nested too deeply: {exc}") from exc
    return _salvage(data)


def _count_parts(entries: list) -> int:
    count = len(entries)
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            continue
        count += len(changes)
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                for key in ("messages", "statuses", "contacts"):
                    items = value.get(key)
                    count += len(items) if isinstance(items, list) else 0
    return count


def _salvage(data: dict[str, Any]) -> WebhookPayload:
    """Validate a body part by part, keeping every part that fits."""
    problems: list[str] = []
    try:
        payload = WebhookPayload.model_validate({**data, "entry": []})
    except ValidationError as exc:
        raise WebhookParseError(f"webhook body has the wrong shape: {_short(exc)}") from exc
    for i, entry in enumerate(data["entry"]):
        where = f"entry[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            problems.append(f"{where}.changes: not a list")
            changes = []
        try:
            model = Entry.model_validate({**entry, "changes": []})
        except ValidationError as exc:
            problems.append(f"{where}: {_short(exc)}")
            continue
        for j, change in enumerate(changes):
            parsed = _salvage_change(change, f"{where}.changes[{j}]", problems)
            if parsed is not None:
                model.changes.append(parsed)
        payload.entry.append(model)
    payload._problems = problems
    return payload


def _salvage_change(change: Any, where: str, problems: list[str]) -> Change | None:
    if not isinstance(change, dict):
        problems.append(f"{where}: not an object")
        return None
    try:
        return Change.model_validate(change)
    except ValidationError as exc:
        first = _short(exc)
    value = change.get("value")
    if change.get("field") != "messages" or not isinstance(value, dict):
        problems.append(f"{where}: {first}")
        return None
    kept: dict[str, list] = {}
    for key, model in (("messages", InboundMessage), ("statuses", Status),
                       ("contacts", Contact), ("errors", WebhookError)):
        items = value.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(f"{where}.value.{key}: not a list")
            items = []
        kept[key] = []
        for k, item in enumerate(items):
            try:
                kept[key].append(model.model_validate(item))
            except ValidationError as exc:
                problems.append(f"{where}.value.{key}[{k}]: {_short(exc)}")
    try:
        parsed = MessagesValue.model_validate({**value, **{key: [] for key in kept}})
    except ValidationError as exc:  # e.g. no metadata: nothing in it can be routed
        problems.append(f"{where}.value: {_short(exc)}")
        return None
    for key, items in kept.items():
        setattr(parsed, key, items)
    return Change.model_construct(field="messages", value=parsed)
