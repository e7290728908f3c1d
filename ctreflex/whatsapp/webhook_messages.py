"""Webhook model base, error objects, and one inbound message (``messages[]``) with its payloads."""

from __future__ import annotations

import json
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
    "ButtonReply",
    "ContactAddress",
    "ContactCard",
    "ContactEmail",
    "ContactName",
    "ContactOrg",
    "ContactPhone",
    "ContactUrl",
    "DocumentPayload",
    "ErrorData",
    "INT32",
    "ImagePayload",
    "InboundMessage",
    "InteractivePayload",
    "KNOWN_MESSAGE_TYPES",
    "ListReply",
    "LocationPayload",
    "MediaId",
    "MessageContext",
    "MessageId",
    "NfmReply",
    "OrderPayload",
    "ProductItem",
    "ReactionPayload",
    "Referral",
    "ReferredProduct",
    "StickerPayload",
    "SystemPayload",
    "TextPayload",
    "UnsupportedPayload",
    "VideoPayload",
    "WaId",
    "WebhookError",
    "WebhookModel",
    "epoch_to_datetime",
    "short_error",
]


class WebhookModel(BaseModel):
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


class ErrorData(WebhookModel):
    details: str | None = None


class WebhookError(WebhookModel):
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


def short_error(exc: Exception) -> str:
    """The first validation problem as ``loc: msg`` (for ``problems`` and ``payload_errors``)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg', str(exc))}" if loc else str(first.get("msg", exc))
    return str(exc)


# ---------------------------------------------------------------------------- message payloads
class TextPayload(WebhookModel):
    body: str = ""


class _Media(WebhookModel):
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


class LocationPayload(WebhookModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactName(WebhookModel):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class ContactPhone(WebhookModel):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class ContactEmail(WebhookModel):
    email: str | None = None
    type: str | None = None


class ContactOrg(WebhookModel):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactAddress(WebhookModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactUrl(WebhookModel):
    url: str | None = None
    type: str | None = None


class ContactCard(WebhookModel):
    """One vCard-like entry of a ``contacts`` message."""

    name: ContactName | None = None
    phones: list[ContactPhone] = Field(default_factory=list)
    emails: list[ContactEmail] = Field(default_factory=list)
    org: ContactOrg | None = None
    addresses: list[ContactAddress] = Field(default_factory=list)
    urls: list[ContactUrl] = Field(default_factory=list)
    birthday: str | None = None


class ButtonReply(WebhookModel):
    id: str | None = None
    title: str | None = None


class ListReply(WebhookModel):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class NfmReply(WebhookModel):
    name: str | None = None
    body: str | None = None
    response_json: str | None = None

    @property
    def response(self) -> Any:
        try:
            return json.loads(self.response_json) if self.response_json else None
        except ValueError:
            return None


class InteractivePayload(WebhookModel):
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


class ButtonPayload(WebhookModel):
    """A tap on a template QUICK_REPLY button."""

    payload: str | None = None
    text: str | None = None


class ReactionPayload(WebhookModel):
    message_id: MessageId
    emoji: Annotated[str, StringConstraints(max_length=16)] | None = None

    @property
    def removed(self) -> bool:
        """True when the customer removed their reaction (empty or absent emoji)."""
        return not self.emoji


class ProductItem(WebhookModel):
    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class OrderPayload(WebhookModel):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = Field(default_factory=list)


class SystemPayload(WebhookModel):
    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    new_wa_id: str | None = None
    identity: str | None = None
    customer: str | None = None


class UnsupportedPayload(WebhookModel):
    type: str | None = None


class ReferredProduct(WebhookModel):
    catalog_id: str | None = None
    product_retailer_id: str | None = None


class MessageContext(WebhookModel):
    from_: str | None = Field(default=None, alias="from")
    id: MessageId | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: ReferredProduct | None = None


class Referral(WebhookModel):
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


class InboundMessage(WebhookModel):
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
                        bad[key] = short_error(exc)
                        data.pop(key)
            if "contacts" in data and data["contacts"] is not None:
                try:
                    if not isinstance(data["contacts"], list):
                        raise TypeError("contacts is not a list")
                    for card in data["contacts"]:
                        ContactCard.model_validate(card)
                except (ValidationError, TypeError) as exc:
                    bad["contacts"] = short_error(exc)
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
