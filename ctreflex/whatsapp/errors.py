"""Typed exceptions for the WhatsApp Cloud API (Graph API).

Any non-2xx Graph response becomes a :class:`GraphAPIError` (or a subclass picked from the
error ``code``); network failures become :class:`GraphTransportError`. Build logic on the
class or on ``code`` -- never on the English ``message`` text (Meta's advice).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from .codes import ERROR_HELP, ErrorHelp, describe_error

__all__ = [
    "ERROR_HELP",
    "AuthError",
    "ErrorHelp",
    "GraphAPIError",
    "GraphError",
    "GraphServerError",
    "GraphTransportError",
    "InvalidParameterError",
    "MediaError",
    "NotRegisteredError",
    "PaymentError",
    "PermissionDeniedError",
    "PolicyError",
    "RateLimitError",
    "RecipientError",
    "RegistrationError",
    "RegistrationRateLimitError",
    "ServiceUnavailableError",
    "TemplateError",
    "VerificationCodeError",
    "WindowClosedError",
    "describe_error",
    "error_class_for",
    "from_error_payload",
    "SendDisposition",
    "send_disposition",
]


class GraphError(Exception):
    """Base of every error raised by :mod:`ctreflex.whatsapp.client`."""


class GraphTransportError(GraphError):
    """The request did not get an HTTP answer (DNS, connect, TLS, timeout, broken stream)."""

    def __init__(
        self, message: str, *, cause: BaseException | None = None, request_sent: bool | None = None
    ) -> None:
        super().__init__(message)
        self.cause = cause
        #: False when the request certainly never reached Meta (connect failure); True/None when
        #: it may have been received (read timeout) -- a send may then have gone out.
        self.request_sent = request_sent


class GraphAPIError(GraphError):
    """A Graph API error response (``{"error": {...}}``) or a non-JSON error body."""

    def __init__(
        self,
        code: int | None,
        *,
        subcode: int | None = None,
        title: str = "",
        message: str = "",
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        is_transient: bool | None = None,
        error_user_title: str | None = None,
        error_user_msg: str | None = None,
        error_type: str | None = None,
        payload: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.title = title
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.is_transient = is_transient
        self.error_user_title = error_user_title
        self.error_user_msg = error_user_msg
        self.error_type = error_type
        self.payload = payload or {}
        self.retry_after = retry_after
        super().__init__(self._summary())

    def _summary(self) -> str:
        parts = [f"Graph API error {self.code}" if self.code is not None else "Graph API error"]
        if self.http_status is not None:
            parts.append(f"(HTTP {self.http_status})")
        text = self.title or self.message
        if text:
            parts.append(f"{text}")
        if self.details:
            parts.append(f"- {self.details}")
        if self.fbtrace_id:
            parts.append(f"[fbtrace_id={self.fbtrace_id}]")
        return " ".join(parts)

    @property
    def help(self) -> ErrorHelp:
        """Plain-language explanation for the inbox / admin screens."""
        if self.code is None:
            if self.http_status is not None and self.http_status >= 500:
                return ErrorHelp(
                    "WhatsApp is having problems",
                    f"Meta's servers answered with an error (HTTP {self.http_status}).",
                    "Try again in a few minutes.",
                    True,
                )
            return describe_error(None)
        return describe_error(self.code)

    def __reduce__(self):  # keep pickling/copying working despite keyword-only init
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls, state):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, obj._summary())
    return obj


class AuthError(GraphAPIError):
    """0 / 190 (and HTTP 401): the access token is invalid or expired. Stop sending."""


class PermissionDeniedError(GraphAPIError):
    """3, 10, 200-299, 131005: missing capability / permission (configuration problem)."""


class RateLimitError(GraphAPIError):
    """4, 80007, 130429, 131056 (+131048 spam limit, HTTP 429): slow down."""


class InvalidParameterError(GraphAPIError):
    """100, 131008, 131009, 131021: malformed request -- a bug; never retried."""


class WindowClosedError(GraphAPIError):
    """131047: more than 24 h since the customer's last message; send a template."""


class TemplateError(GraphAPIError):
    """132xxx: template missing, paused, disabled, or parameters don't match."""


class MediaError(GraphAPIError):
    """131052 / 131053: media could not be downloaded / used."""


class RecipientError(GraphAPIError):
    """131026, 131030, 131049, 131050, 130472, 130497: this recipient can't be reached now."""


class PolicyError(GraphAPIError):
    """368, 131031, 131037, 131063, 131064: account blocked or limited by Meta policy."""


class PaymentError(GraphAPIError):
    """131042: payment/eligibility problem on the WhatsApp account."""


class ServiceUnavailableError(GraphAPIError):
    """131000, 131016, 131057 and Meta 5xx: temporary trouble at Meta."""


GraphServerError = ServiceUnavailableError


class RegistrationError(GraphAPIError):
    """133xxx registration/deregistration problems."""


class NotRegisteredError(RegistrationError):
    """133010: the phone number is not registered on Cloud API."""


class RegistrationRateLimitError(RegistrationError):
    """133016: more than 10 register/deregister calls in 72 h; blocked for 72 h."""


class VerificationCodeError(RegistrationError):
    """136024 / 136025: requesting or verifying the phone-number verification code failed."""


_CODE_CLASSES: dict[int, type[GraphAPIError]] = {
    0: AuthError,
    190: AuthError,
    3: PermissionDeniedError,
    10: PermissionDeniedError,
    131005: PermissionDeniedError,
    4: RateLimitError,
    80007: RateLimitError,
    130429: RateLimitError,
    131056: RateLimitError,
    131048: RateLimitError,
    100: InvalidParameterError,
    131008: InvalidParameterError,
    131009: InvalidParameterError,
    131021: InvalidParameterError,
    131047: WindowClosedError,
    131052: MediaError,
    131053: MediaError,
    131026: RecipientError,
    131030: RecipientError,
    131049: RecipientError,
    131050: RecipientError,
    130472: RecipientError,
    130497: RecipientError,
    368: PolicyError,
    131031: PolicyError,
    131037: PolicyError,
    131063: PolicyError,
    131064: PolicyError,
    131042: PaymentError,
    131000: ServiceUnavailableError,
    131016: ServiceUnavailableError,
    131057: ServiceUnavailableError,
    131045: RegistrationError,
    133010: NotRegisteredError,
    133016: RegistrationRateLimitError,
    136024: VerificationCodeError,
    136025: VerificationCodeError,
}


def error_class_for(code: int | None, http_status: int | None = None) -> type[GraphAPIError]:
    """The exception class for an error code (falling back on the HTTP status)."""
    if code is not None:
        if code in _CODE_CLASSES:
            return _CODE_CLASSES[code]
        if 200 <= code <= 299:
            return PermissionDeniedError
        if 132000 <= code <= 132999:
            return TemplateError
        if 133000 <= code <= 133999:
            return RegistrationError
        if 136000 <= code <= 136999:
            return VerificationCodeError
    if http_status == 401:
        return AuthError
    if http_status == 403 and code is None:
        return PermissionDeniedError
    if http_status == 429:
        return RateLimitError
    if http_status is not None and http_status >= 500:
        return ServiceUnavailableError
    return GraphAPIError


#: Graph codes where Meta certainly did not take the message and a later try can succeed.
RETRY_LATER_CODES = frozenset({1, 2, 130429, 131000, 131016, 131057})


class SendDisposition(StrEnum):
    """What a failed send means for the message (see :func:`send_disposition`)."""

    RETRY = "retry"
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"


def send_disposition(exc: BaseException) -> SendDisposition:
    """What a failed ``POST /messages`` means for the message (Meta de-duplicates nothing):

    * ``"retry"``: Meta certainly did not take it and trying again later can work -- a connect
      failure (nothing left this machine), 130429, 131000, 131016, 131057, codes 1/2, a Graph
      error marked ``is_transient``, HTTP 429 or a 5xx without a Graph body (but 504);
    * ``"unconfirmed"``: the request may have reached Meta -- a read/write timeout, a dropped
      connection, a gateway timeout (504), a 2xx answer that could not be read; it must never
      be sent again blindly;
    * ``"failed"``: Meta refused it; sending the same again will not help.
    """
    if isinstance(exc, GraphTransportError):
        if exc.request_sent is False:
            return SendDisposition.RETRY
        return SendDisposition.UNCONFIRMED
    if isinstance(exc, GraphAPIError):
        status = exc.http_status
        if exc.code is None:
            if status is not None and 200 <= status < 300:
                return SendDisposition.UNCONFIRMED  # a 2xx we could not read: maybe out
            if status == 504:
                return SendDisposition.UNCONFIRMED  # a gateway gave up; Meta may have sent it
            if status is not None and (status == 429 or status >= 500):
                return SendDisposition.RETRY
            return SendDisposition.FAILED
        if exc.code in RETRY_LATER_CODES or exc.is_transient is True:
            return SendDisposition.RETRY
        return SendDisposition.FAILED
    if isinstance(exc, GraphError):
        return SendDisposition.FAILED  # raised before any request (e.g. a template not built)
    return SendDisposition.UNCONFIRMED  # anything unexpected: we cannot know whether it went out


_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def from_error_payload(
    payload: Any, http_status: int | None, *, retry_after: float | None = None
) -> GraphAPIError:
    """Turn a Graph error body into the matching typed exception (never raises).

    Accepts the sync shape ``{"error": {...}}``, a bare error object (webhook
    ``{code, title, message, error_data}``), or anything else (non-JSON bodies are passed as
    ``{"raw": text}`` by the client).
    """
    body: dict[str, Any] = payload if isinstance(payload, dict) else {"raw": payload}
    err = body.get("error")
    if not isinstance(err, dict):
        err = body if "code" in body else {}
    code = _as_int(err.get("code"))
    message = str(err.get("message") or "")
    title = str(err.get("title") or _CODE_PREFIX.sub("", message) or "")
    error_data = err.get("error_data")
    details: str | None = None
    if isinstance(error_data, dict):
        d = error_data.get("details")
        details = str(d) if d is not None else None
    elif isinstance(error_data, str):
        details = error_data
    if not err and "raw" in body:
        raw = str(body.get("raw") or "").strip()
        message = raw[:500]
        title = f"HTTP {http_status}" if http_status is not None else "Unexpected response"
    cls = error_class_for(code, http_status)
    return cls(
        code,
        subcode=_as_int(err.get("error_subcode")),
        title=title,
        message=message,
        details=details,
        fbtrace_id=err.get("fbtrace_id"),
        http_status=http_status,
        is_transient=_as_bool(err.get("is_transient")),
        error_user_title=err.get("error_user_title"),
        error_user_msg=err.get("error_user_msg"),
        error_type=err.get("type"),
        payload=body,
        retry_after=retry_after,
    )
