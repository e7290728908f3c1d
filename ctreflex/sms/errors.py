"""SMS provider errors: the REST API's error codes and what to tell the agent."""

from __future__ import annotations

# code -> (title, what the agent can do). Codes follow Twilio's Messages API.
CODES: dict[int, tuple[str, str]] = {
    20003: ("Authentication failed", "Check the SMS number's account SID and auth token."),
    20404: ("Not found", "The SMS provider does not know this resource."),
    21211: ("Invalid 'To' phone number", "Check the customer's number."),
    21212: ("Invalid 'From' phone number", "Check the SMS number's settings."),
    21602: ("Message body is required", "Type a message or attach a photo."),
    21604: ("'To' phone number is required", "The customer has no phone number."),
    21606: (
        "The 'From' number is not an SMS-capable number of this account",
        "Check the SMS number's provider account.",
    ),
    21610: (
        "Attempt to send to unsubscribed recipient",
        "The customer replied STOP; they must reply START before you can text them.",
    ),
    21612: (
        "The 'To' number is not reachable via MMS",
        "Photos by SMS (MMS) reach only US and Canadian numbers; send text only.",
    ),
    21614: ("'To' number is not a valid mobile number", "This number cannot receive texts."),
    21617: ("The message body exceeds the 1600 character limit", "Shorten the message."),
    21620: ("Invalid media URL(s)", "Attach the photo again."),
    21623: ("Number of media files exceeds allowed limit", "Send at most 10 files."),
    11751: ("Media exceeds messaging provider size limit", "Photos by SMS are limited to 5 MB."),
    30003: ("Unreachable destination handset", "The phone is off or out of coverage."),
    30005: ("Unknown destination handset", "The number may no longer be in service."),
    30006: ("Landline or unreachable carrier", "This number cannot receive texts."),
    30007: ("Message filtered by the carrier", "The carrier blocked this message."),
    30008: ("Unknown error", "The carrier did not say why; try again later."),
    63019: ("Media failed to download", "Attach the photo again."),
}

UNDELIVERED_CODES = frozenset({30003, 30005, 30006, 30007, 30008})


def describe(code: int | None) -> tuple[str, str]:
    """(title, hint) for a provider error code; a generic text for codes we do not know."""
    if code is None:
        return "The SMS provider did not accept the message", ""
    return CODES.get(code, (f"SMS provider error {code}", ""))


class SMSError(Exception):
    """Any failure talking to the SMS provider."""


class SMSTransportError(SMSError):
    """The provider could not be reached or answered something that is not its API."""


class SMSAPIError(SMSError):
    """The provider refused the request: its error code, message and HTTP status."""

    def __init__(self, code: int | None, message: str, http_status: int = 400, more_info: str = ""):
        self.code = code
        self.message = message
        self.http_status = http_status
        self.more_info = more_info
        self.title, self.hint = describe(code)
        super().__init__(f"({code}) {message}" if code else message)
