"""Graph API plumbing: which failures are retried, the backoff, responses as typed errors."""

from __future__ import annotations

import random
from typing import Any, Literal

import httpx

from .errors import GraphAPIError, GraphTransportError, from_error_payload
from .models import TemplatePage

__all__ = [
    "RETRYABLE_CODES",
    "RETRY_ONCE_CODES",
    "RetryMode",
    "backoff_seconds",
    "error_from_response",
    "json_or_raise",
    "next_cursor",
    "should_retry",
    "transport_error",
]

RetryMode = Literal["idempotent", "not_accepted", "never"]

#: Graph codes where trying again shortly can succeed.
RETRYABLE_CODES = frozenset({1, 2, 130429, 131016, 131057})
#: Retried at most once.
RETRY_ONCE_CODES = frozenset({131000})


def should_retry(exc: BaseException, mode: RetryMode, once_seen: set[int]) -> bool:
    """Whether ``exc`` may be retried for a request of ``mode`` (see the client's docstring).
    ``once_seen`` collects the retry-once codes already retried for this request."""
    if isinstance(exc, GraphTransportError):
        if exc.request_sent is False:
            return True
        return mode == "idempotent"
    if not isinstance(exc, GraphAPIError):
        return False
    code = exc.code
    if code in RETRY_ONCE_CODES:
        if code in once_seen:
            return False
        once_seen.add(code)
        return True
    if code in RETRYABLE_CODES:
        return True
    if code is not None and exc.is_transient is True:
        return True
    if code is None:
        status = exc.http_status or 0
        if status == 504 and mode != "idempotent":
            return False  # a gateway timeout: the send may have gone out
        return status == 429 or status >= 500
    return False


def backoff_seconds(
    exc: BaseException | None, attempt_number: int, wait_base: float, wait_max: float
) -> float:
    """``Retry-After`` when the error carries one, else ``wait_base * 2**(n-1)`` plus jitter;
    never more than ``wait_max``."""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, (int, float)) and retry_after >= 0:
        return min(float(retry_after), wait_max)
    if wait_base <= 0:
        return 0.0
    base = wait_base * (2 ** max(0, attempt_number - 1))
    return min(base + random.uniform(0, wait_base), wait_max)


def next_cursor(page: TemplatePage) -> str | None:
    paging = page.paging
    if paging is None or not paging.next:
        return None
    if paging.cursors and paging.cursors.after:
        return paging.cursors.after
    # fall back on the "after" query parameter of the next URL
    nxt = httpx.URL(paging.next)
    return nxt.params.get("after")


def _parse_retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(resp: httpx.Response) -> GraphAPIError:
    try:
        payload: Any = resp.json()
    except ValueError:
        payload = {"raw": resp.text}
    if not isinstance(payload, dict):
        payload = {"raw": resp.text}
    return from_error_payload(payload, resp.status_code, retry_after=_parse_retry_after(resp))


def json_or_raise(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code >= 400 or resp.status_code < 200:
        raise error_from_response(resp)
    if not resp.content:
        return {}
    try:
        data = resp.json()
    except ValueError as exc:
        raise GraphAPIError(
            None,
            title="Response was not JSON",
            message=resp.text[:500],
            http_status=resp.status_code,
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        raise from_error_payload(data, resp.status_code)
    if not isinstance(data, dict):
        return {"data": data}
    return data


def transport_error(exc: httpx.HTTPError) -> GraphTransportError:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        sent: bool | None = False
    elif isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        sent = False
    else:
        sent = None
    return GraphTransportError(
        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
        cause=exc,
        request_sent=sent,
    )
