"""Request and response models of /api/v1 (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OptOut(BaseModel):
    sms: bool = Field(description="Replied STOP by SMS: no SMS until START.")
    marketing: bool = Field(description="No marketing on any channel.")


class Contact(BaseModel):
    id: int
    phone: str = Field(description="E.164, e.g. +15550100142")
    region: str
    name: str
    profile_name: str
    whatsapp_id: str | None
    conversation_id: int | None
    opt_out: OptOut
    created_at: str | None


class ContactPage(BaseModel):
    data: list[Contact]
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=40, examples=["+15550100142"])
    name: str = Field(default="", max_length=120)


class ContactUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    marketing_opted_out: bool | None = Field(
        default=None,
        description="true records a marketing opt-out; opting back in is the customer's act.",
    )


class ConsentEvent(BaseModel):
    channel: str
    scope: str
    action: str
    source: str
    at: str | None
    summary: str


class Consent(BaseModel):
    contact_id: int
    sms_opted_out: bool
    marketing_opted_out: bool
    summary: str
    history: list[ConsentEvent]


class Assignee(BaseModel):
    id: int
    name: str


class UserList(BaseModel):
    data: list[Assignee]


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_id: int | None = Field(
        ge=1, le=2**31 - 1, description="A user of the account (GET /users); null unassigns."
    )


class Window(BaseModel):
    state: Literal["open", "closing", "closed", "none"]
    expires_at: str | None


class Conversation(BaseModel):
    id: int
    contact: Contact
    channel: str
    business_number_id: int | None
    unread_count: int
    last_message_at: str | None
    last_inbound_at: str | None
    last_preview: str
    window: Window
    created_at: str | None
    status: Literal["open", "snoozed", "resolved"] = Field(
        default="open", description="A snooze whose time has passed is open."
    )
    snoozed_until: str | None = None
    assignee: Assignee | None = Field(default=None, description="null: unassigned.")


class ConversationList(BaseModel):
    data: list[Conversation]


class MessageError(BaseModel):
    code: int | None
    title: str
    detail: str


class MessageMedia(BaseModel):
    id: int
    kind: str
    mime_type: str
    size: int
    filename: str


class MessageTemplate(BaseModel):
    id: int | None
    name: str | None
    language: str | None


class Message(BaseModel):
    id: int
    conversation_id: int
    direction: Literal["inbound", "outbound"]
    channel: str
    type: str
    text: str
    status: str
    error: MessageError | None
    media: MessageMedia | None
    template: MessageTemplate | None
    reply_to_id: int | None
    created_at: str | None
    sent_at: str | None
    delivered_at: str | None
    read_at: str | None
    failed_at: str | None


class MessagePage(BaseModel):
    data: list[Message]
    next_cursor: str | None = Field(description="Pass as `cursor` for older messages.")


class TemplateRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: str | None = Field(default=None, max_length=512)
    language: str | None = Field(default=None, max_length=16)
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Values by the template's parameter keys (GET /templates lists them): "
        "`body.1`, `body.name`, `header.text`, `header.media` (an https link), "
        "`button.0.url_suffix`…",
    )
    header_media_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="An uploaded file (POST /media)."
    )


class MediaRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="From POST /media.")
    url: str | None = Field(
        default=None, max_length=2000, description="An https URL the file is fetched from."
    )
    caption: str = Field(default="", max_length=1024)


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    to: str | None = Field(
        default=None,
        max_length=40,
        description="A phone number (E.164) instead of conversation_id: the contact and its "
        "conversation are created when new.",
    )
    channel: Literal["whatsapp", "sms"] | None = Field(
        default=None, description="Default: the conversation's current channel."
    )
    type: Literal["text", "template", "media"]
    text: str | None = Field(default=None, max_length=10_000)
    template: TemplateRef | None = None
    media: MediaRef | None = None
    reply_to_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class MediaFile(BaseModel):
    id: int
    kind: str
    mime_type: str
    size: int
    filename: str


class TemplateParameter(BaseModel):
    key: str
    label: str
    kind: str
    example: str
    required: bool
    max_length: int


class Template(BaseModel):
    id: int
    name: str
    language: str
    category: str
    status: str
    quality: str
    rejected_reason: str
    body: str
    header: str
    buttons: int
    sendable: bool
    parameters: list[TemplateParameter]


class TemplateList(BaseModel):
    data: list[Template]


class Number(BaseModel):
    id: int
    channel: str
    phone: str
    display_name: str
    status: str
    quality_rating: str | None
    messaging_limit: str | None


class NumberList(BaseModel):
    data: list[Number]


class UsageDay(BaseModel):
    day: str
    channel: str
    number: str
    inbound: int
    outbound: int
    fee: str
    currency: str
    marketing: int
    utility: int
    authentication: int


class Usage(BaseModel):
    start: str
    end: str
    total_messages: int
    total_fee: str
    currency: str
    data: list[UsageDay]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, examples=["https://example.com/ctt-hook"])
    events: list[
        Literal[
            "message.received",
            "message.status",
            "optout.changed",
            "conversation.window_closing",
            "conversation.assigned",
        ]
    ] = Field(min_length=1, max_length=5)
    description: str = Field(default="", max_length=200)


class Webhook(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret, shown only in this answer.")


class WebhookList(BaseModel):
    data: list[Webhook]
