"""Every table, re-exported so Alembic sees the complete metadata."""

from ctreflex.models._base import UTCDateTime, utc_now
from ctreflex.models.account import Account, AuthSession, LoginThrottle, Plan, Role, User
from ctreflex.models.api import (
    ApiIdempotency,
    ApiKey,
    ApiRateWindow,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ctreflex.models.assignment import ConversationEvent
from ctreflex.models.channel import BusinessNumber, Channel, NumberStatus, Template
from ctreflex.models.contact import Contact, OptOutEvent
from ctreflex.models.conversation import (
    STATUS_RANK,
    Conversation,
    Direction,
    MediaFile,
    Message,
    MessageStatus,
)
from ctreflex.models.jobs import JobRun, SchedulerLease
from ctreflex.models.ops import UsageDaily, UsageRecord, WebhookEvent
from ctreflex.models.team import CannedReply, ConversationLabel, Label, Mention, Note

__all__ = [
    "STATUS_RANK",
    "Account",
    "ApiIdempotency",
    "ApiKey",
    "ApiRateWindow",
    "AuthSession",
    "BusinessNumber",
    "CannedReply",
    "Channel",
    "Contact",
    "Conversation",
    "ConversationLabel",
    "ConversationEvent",
    "Direction",
    "JobRun",
    "Label",
    "LoginThrottle",
    "MediaFile",
    "Mention",
    "Message",
    "MessageStatus",
    "Note",
    "NumberStatus",
    "OptOutEvent",
    "Plan",
    "Role",
    "SchedulerLease",
    "Template",
    "UTCDateTime",
    "UsageDaily",
    "UsageRecord",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "utc_now",
]
