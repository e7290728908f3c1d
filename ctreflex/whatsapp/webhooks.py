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

The safe JSON decoding lives in :mod:`.safe_json` and the model of one inbound message in
:mod:`.webhook_messages`; their names are re-exported here, the webhook layer's one import.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .safe_json import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_PARTS,
    WebhookParseError,
    clean_text,
    loads_json,
)
from .webhook_messages import (
    AudioPayload,
    ButtonPayload,
    ContactCard,
    DocumentPayload,
    ImagePayload,
    InboundMessage,
    InteractivePayload,
    LocationPayload,
    MessageContext,
    MessageId,
    OrderPayload,
    ReactionPayload,
    Referral,
    StickerPayload,
    SystemPayload,
    TextPayload,
    UnsupportedPayload,
    VideoPayload,
    WebhookError,
    WebhookModel,
    epoch_to_datetime,
    short_error,
)

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
    "WEBHOOK_STATUS_ORDER",
    "WebhookStatus",
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


# ---------------------------------------------------------------------------- envelope parts


class Metadata(WebhookModel):
    display_phone_number: str | None = None
    phone_number_id: str


class Profile(WebhookModel):
    name: str | None = None
    username: str | None = None

    @field_validator("name", mode="after")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return v[:120] if v else v  # the contact's profile name column


class Contact(WebhookModel):
    profile: Profile | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def name(self) -> str | None:
        return self.profile.name if self.profile else None


class Conversation(WebhookModel):
    id: str | None = None
    expiration_timestamp: str | None = None
    origin: dict[str, Any] | None = None

    @property
    def origin_type(self) -> str | None:
        return (self.origin or {}).get("type")


class Pricing(WebhookModel):
    billable: bool | None = None
    pricing_model: str | None = None
    category: Annotated[str, StringConstraints(max_length=32)] | None = None
    type: str | None = None


class WebhookStatus(StrEnum):
    """Meta's ``statuses[].status`` values (an unknown one is kept as received)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


#: Meta's delivery statuses in the order they happen (a status webhook never moves a message
#: back); ``failed`` is terminal and handled apart. Not the app's MessageStatus order
#: (ctreflex.models.STATUS_RANK), which also ranks its own pending/accepted states.
WEBHOOK_STATUS_ORDER: dict[str, int] = {
    WebhookStatus.SENT: 1,
    WebhookStatus.DELIVERED: 2,
    WebhookStatus.READ: 3,
    WebhookStatus.PLAYED: 4,
}


class Status(WebhookModel):
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
        return self.status == WebhookStatus.FAILED

    @property
    def rank(self) -> int:
        """0 for unknown statuses, failed = 100 (terminal)."""
        if self.status == WebhookStatus.FAILED:
            return 100
        return WEBHOOK_STATUS_ORDER.get(self.status, 0)

    @property
    def error(self) -> WebhookError | None:
        return self.errors[0] if self.errors else None


class MessagesValue(WebhookModel):
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


class TemplateStatusUpdate(WebhookModel):
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


class Change(WebhookModel):
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


class Entry(WebhookModel):
    id: str
    time: int | None = None
    changes: list[Change] = Field(default_factory=list)


class WebhookPayload(WebhookModel):
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
        raise WebhookParseError(f"webhook body has the wrong shape: {short_error(exc)}") from exc
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
            problems.append(f"{where}: {short_error(exc)}")
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
        first = short_error(exc)
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
                problems.append(f"{where}.value.{key}[{k}]: {short_error(exc)}")
    try:
        parsed = MessagesValue.model_validate({**value, **{key: [] for key in kept}})
    except ValidationError as exc:  # e.g. no metadata: nothing in it can be routed
        problems.append(f"{where}.value: {short_error(exc)}")
        return None
    for key, items in kept.items():
        setattr(parsed, key, items)
    return Change.model_construct(field="messages", value=parsed)
