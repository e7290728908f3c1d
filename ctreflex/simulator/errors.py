"""Graph API error shapes (reference §10).

Synchronous errors are raised as :class:`GraphError` and rendered as
``{"error": {"message": "(#code) title", "type": ..., "code": ..., "error_data": ...,
"fbtrace_id": ...}}``. Asynchronous errors (carried by ``failed`` status webhooks) use
:func:`webhook_error`: ``{code, title, message, error_data{details}, href}``.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

#: code -> (title, default HTTP status)
ERROR_TITLES: dict[int, tuple[str, int]] = {
    0: ("AuthException", 401),
    3: ("API Method", 400),
    4: ("Application request limit reached", 400),
    10: ("Permission denied", 400),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    200: ("Permissions error", 403),
    368: ("Temporarily blocked for policies violations", 400),
    80007: ("Rate limit issues", 400),
    130429: ("Rate limit hit", 400),
    130472: ("User's number is part of an experiment", 400),
    130497: ("Business account is restricted from messaging users in this country", 400),
    131000: ("Something went wrong", 500),
    131005: ("Access denied", 403),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131021: ("Recipient cannot be sender", 400),
    131026: ("Message undeliverable", 400),
    131030: ("Recipient phone number not in allowed list", 400),
    131031: ("Business Account locked", 400),
    131037: ("WhatsApp provided number needs display name approval before message can be sent",
             400),
    131042: ("Business eligibility payment issue", 400),
    131045: ("Incorrect certificate", 400),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: ("Meta chose not to deliver.", 400),
    131050: ("Unable to deliver the message. This recipient has chosen to stop receiving "
             "marketing messages on WhatsApp from your business.", 400),
    131051: ("Unsupported message type", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 400),
    132005: ("Translated text too long", 400),
    132007: ("Format character policy violated", 400),
    132008: ("Template parameter value is invalid", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    132018: ("There was an issue with the parameters in your template.", 400),
    133000: ("Incomplete deregistration", 400),
    133005: ("Two step verification PIN Mismatch", 400),
    133006: ("Phone number re-verification needed", 400),
    133010: ("Phone number Not Registered", 400),
    133016: ("Account register deregister rate limit exceeded", 400),
    135000: ("Generic user error", 400),
    136024: ("Request code error", 400),
    136025: ("Verify code error", 400),
}

_ASYNC_TITLES: dict[int, str] = {
    131049: ("This message was not delivered to maintain healthy ecosystem engagement."),
}


def fbtrace_id() -> str:
    alphabet = string.ascii_letters + string.digits + "_-"
    return "A" + "".join(secrets.choice(alphabet) for _ in range(22))


def title_for(code: int) -> str:
    return ERROR_TITLES.get(code, ("Unknown error", 400))[0]


def http_status_for(code: int) -> int:
    return ERROR_TITLES.get(code, ("Unknown error", 400))[1]


class GraphError(Exception):
    """A synchronous Graph API error."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        title: str | None = None,
        http_status: int | None = None,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        whatsapp: bool = True,
    ) -> None:
        self.code = code
        self.title = title or title_for(code)
        self.details = details
        self.http_status = http_status or http_status_for(code)
        self.error_type = error_type
        self.subcode = subcode
        self.whatsapp = whatsapp
        super().__init__(f"({code}) {self.title}: {details}")

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "message": f"(#{self.code}) {self.title}",
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.details is not None:
            err["error_data"] = (
                {"messaging_product": "whatsapp", "details": self.details}
                if self.whatsapp
                else {"details": self.details}
            )
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}


def invalid_param(param: str, details: str | None = None) -> GraphError:
    """Code 100 naming the offending parameter."""
    return GraphError(100, details or f"Invalid parameter: {param}")


def missing_param(param: str) -> GraphError:
    return GraphError(100, f"The parameter {param} is required.")


def unknown_object(object_id: str, method: str = "get") -> GraphError:
    """Meta's answer for an id that does not exist or the token may not see."""
    return GraphError(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        title=(
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation"
        ),
        error_type="GraphMethodException",
        subcode=33,
        whatsapp=False,
    )


def webhook_error(code: int, details: str) -> dict[str, Any]:
    """The error object carried by a ``failed`` status (no type / fbtrace_id)."""
    title = _ASYNC_TITLES.get(code) or title_for(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": ERROR_HREF,
    }
