"""Pydantic models for Graph API requests and responses (WhatsApp Cloud API).

Every model tolerates unknown fields (kept in ``model_extra``): Meta adds fields often.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BodyParams",
    "CopyCodeButtonParam",
    "Cursors",
    "GraphModel",
    "HeaderMedia",
    "HeaderText",
    "MediaInfo",
    "Paging",
    "PhoneNumber",
    "QuickReplyButtonParam",
    "RawComponent",
    "SendContact",
    "SendResult",
    "SentMessage",
    "Template",
    "TemplateButton",
    "TemplateComponent",
    "TemplateComponentParam",
    "TemplatePage",
    "Throughput",
    "UrlButtonParam",
    "body_params",
    "header_document",
    "header_image",
    "header_text",
    "header_video",
]


class GraphModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


# --------------------------------------------------------------------------------------------
# Send results
# --------------------------------------------------------------------------------------------


class SendContact(GraphModel):
    input: str | None = None
    wa_id: str | None = None


class SentMessage(GraphModel):
    id: str
    message_status: str | None = None  # accepted | held_for_quality_assessment | paused


class SendResult(GraphModel):
    """``POST /{PNID}/messages`` success: accepted by Meta (not delivered)."""

    messaging_product: str = "whatsapp"
    contacts: list[SendContact] = Field(default_factory=list)
    messages: list[SentMessage] = Field(default_factory=list)

    @property
    def wamid(self) -> str:
        return self.messages[0].id if self.messages else ""

    @property
    def wa_id(self) -> str | None:
        return self.contacts[0].wa_id if self.contacts else None

    @property
    def message_status(self) -> str | None:
        return self.messages[0].message_status if self.messages else None


# --------------------------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------------------------


class MediaInfo(GraphModel):
    """``GET /{media-id}``; ``url`` is valid ~5 minutes and needs the bearer token."""

    id: str
    url: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None
    messaging_product: str | None = None


# --------------------------------------------------------------------------------------------
# Paging
# --------------------------------------------------------------------------------------------


class Cursors(GraphModel):
    before: str | None = None
    after: str | None = None


class Paging(GraphModel):
    cursors: Cursors | None = None
    next: str | None = None
    previous: str | None = None


# --------------------------------------------------------------------------------------------
# Templates (as returned by GET /{WABA}/message_templates)
# --------------------------------------------------------------------------------------------


class TemplateButton(GraphModel):
    """One button. ``type`` is kept as sent (URL, PHONE_NUMBER, COPY_CODE, QUICK_REPLY, OTP, …)."""

    type: str = ""
    text: str | None = None
    url: str | None = None
    phone_number: str | None = None
    example: Any = None  # URL: ["https://…"], COPY_CODE: "CODE"

    @property
    def kind(self) -> str:
        return self.type.upper()


class TemplateComponent(GraphModel):
    """HEADER / BODY / FOOTER / BUTTONS (other types kept as is)."""

    type: str
    format: str | None = None  # HEADER: TEXT | IMAGE | VIDEO | DOCUMENT | GIF | LOCATION | …
    text: str | None = None
    example: Any = None  # HEADER/BODY: {"header_text": [...], "body_text": [[...]], ...}
    buttons: list[TemplateButton] = Field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.type.upper()

    @property
    def example_dict(self) -> dict[str, Any]:
        return self.example if isinstance(self.example, dict) else {}


class Template(GraphModel):
    id: str | None = None
    name: str
    language: str
    status: str | None = None
    category: str | None = None
    parameter_format: str | None = None  # POSITIONAL | NAMED
    components: list[TemplateComponent] = Field(default_factory=list)
    quality_score: Any = None  # {"score": "GREEN", ...}
    rejected_reason: str | None = None

    def component(self, kind: str) -> TemplateComponent | None:
        kind = kind.upper()
        return next((c for c in self.components if c.kind == kind), None)

    @property
    def header(self) -> TemplateComponent | None:
        return self.component("HEADER")

    @property
    def body(self) -> TemplateComponent | None:
        return self.component("BODY")

    @property
    def footer(self) -> TemplateComponent | None:
        return self.component("FOOTER")

    @property
    def buttons(self) -> list[TemplateButton]:
        comp = self.component("BUTTONS")
        return list(comp.buttons) if comp else []

    @property
    def is_named(self) -> bool:
        return (self.parameter_format or "POSITIONAL").upper() == "NAMED"

    @property
    def is_approved(self) -> bool:
        return (self.status or "").upper() == "APPROVED"


class TemplatePage(GraphModel):
    data: list[Template] = Field(default_factory=list)
    paging: Paging | None = None
    summary: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------


class Throughput(GraphModel):
    level: str | None = None  # STANDARD (80 mps) | HIGH (1000 mps) | …


class PhoneNumber(GraphModel):
    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None
    code_verification_status: str | None = None
    quality_rating: str | None = None
    platform_type: str | None = None
    throughput: Throughput | None = None
    name_status: str | None = None
    status: str | None = None
    account_mode: str | None = None
    messaging_limit_tier: str | None = None
    is_official_business_account: bool | None = None

    @property
    def throughput_level(self) -> str | None:
        return self.throughput.level if self.throughput else None


# --------------------------------------------------------------------------------------------
# Template send parameters (typed builders for ``send_template(components=…)``)
# --------------------------------------------------------------------------------------------


class TemplateComponentParam(BaseModel):
    """Base: one entry of ``template.components`` in a send request."""

    model_config = ConfigDict(frozen=True)

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


class HeaderText(TemplateComponentParam):
    """Header text variable (``{{1}}`` or named)."""

    text: str
    parameter_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        p: dict[str, Any] = {"type": "text", "text": self.text}
        if self.parameter_name:
            p["parameter_name"] = self.parameter_name
        return {"type": "header", "parameters": [p]}


class HeaderMedia(TemplateComponentParam):
    """Header image / video / document, by uploaded media id or by public https link."""

    kind: Literal["image", "video", "document"]
    media_id: str | None = None
    link: str | None = None
    filename: str | None = None  # document only

    @model_validator(mode="after")
    def _one_source(self) -> HeaderMedia:
        if bool(self.media_id) == bool(self.link):
            raise ValueError("HeaderMedia needs exactly one of media_id or link")
        return self

    def to_dict(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": self.media_id} if self.media_id else {"link": self.link}
        if self.kind == "document" and self.filename:
            obj["filename"] = self.filename
        return {"type": "header", "parameters": [{"type": self.kind, self.kind: obj}]}


class BodyParams(TemplateComponentParam):
    """Body variables: positional (list, in ``{{1}}..{{n}}`` order) or named (dict)."""

    values: list[str] | dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.values, dict):
            params = [
                {"type": "text", "parameter_name": k, "text": v} for k, v in self.values.items()
            ]
        else:
            params = [{"type": "text", "text": v} for v in self.values]
        return {"type": "body", "parameters": params}


class UrlButtonParam(TemplateComponentParam):
    """Suffix appended to a dynamic URL button (``…{{1}}``)."""

    index: int
    suffix: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "button",
            "sub_type": "url",
            "index": str(self.index),
            "parameters": [{"type": "text", "text": self.suffix}],
        }


class CopyCodeButtonParam(TemplateComponentParam):
    index: int
    coupon_code: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "button",
            "sub_type": "copy_code",
            "index": str(self.index),
            "parameters": [{"type": "coupon_code", "coupon_code": self.coupon_code}],
        }


class QuickReplyButtonParam(TemplateComponentParam):
    index: int
    payload: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(self.index),
            "parameters": [{"type": "payload", "payload": self.payload}],
        }


class RawComponent(TemplateComponentParam):
    """Escape hatch: a component dict passed through unchanged (currency, date_time, …)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def header_text(text: str, *, parameter_name: str | None = None) -> HeaderText:
    return HeaderText(text=text, parameter_name=parameter_name)


def header_image(*, media_id: str | None = None, link: str | None = None) -> HeaderMedia:
    return HeaderMedia(kind="image", media_id=media_id, link=link)


def header_video(*, media_id: str | None = None, link: str | None = None) -> HeaderMedia:
    return HeaderMedia(kind="video", media_id=media_id, link=link)


def header_document(
    *, media_id: str | None = None, link: str | None = None, filename: str | None = None
) -> HeaderMedia:
    return HeaderMedia(kind="document", media_id=media_id, link=link, filename=filename)


def body_params(*positional: str, **named: str) -> BodyParams:
    """``body_params("Ana", "#4411")`` or ``body_params(customer_name="Ana")`` (not both)."""
    if positional and named:
        raise ValueError("use positional or named body parameters, not both")
    return BodyParams(values=dict(named) if named else list(positional))
