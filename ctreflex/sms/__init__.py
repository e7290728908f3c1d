"""SMS provider adapter: REST client, webhook parsing and signatures, segment counting.

Modelled on Twilio's Messages API; see ctreflex/sms_simulator for the local stand-in.
"""

from ctreflex.sms.client import DEFAULT_BASE_URL, SMSClient
from ctreflex.sms.errors import SMSAPIError, SMSError, SMSTransportError, describe
from ctreflex.sms.models import InboundMedia, InboundSMS, MessageResource, StatusCallback
from ctreflex.sms.segments import SegmentInfo, count
from ctreflex.sms.signature import HEADER, compute_signature, verify_signature
from ctreflex.sms.webhooks import SMSWebhookError, parse_form, parse_inbound, parse_status

__all__ = [
    "DEFAULT_BASE_URL",
    "HEADER",
    "InboundMedia",
    "InboundSMS",
    "MessageResource",
    "SMSAPIError",
    "SMSClient",
    "SMSError",
    "SMSTransportError",
    "SMSWebhookError",
    "SegmentInfo",
    "StatusCallback",
    "compute_signature",
    "count",
    "describe",
    "parse_form",
    "parse_inbound",
    "parse_status",
    "verify_signature",
]
