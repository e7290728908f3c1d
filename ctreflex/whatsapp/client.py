"""Async client for Meta's WhatsApp Cloud API (Graph API).

The same code talks to ``https://graph.facebook.com`` in production and to the local simulator
in development/tests: only ``base_url`` and the access token change.

Retry policy (implemented with tenacity)
----------------------------------------
Meta de-duplicates nothing: a ``POST /messages`` that reached Meta and is sent again produces a
second message on the customer's phone. So requests fall in three groups:

* **idempotent** (GET, DELETE, mark-as-read): retried on any transport failure (connect errors,
  timeouts, broken connections) and on retryable error responses;
* **sends and other non-idempotent POSTs** (messages, media upload, phone-number management):
  retried only when the request certainly was *not* accepted -- a connect failure/connect or
  pool timeout (nothing left this machine), or an error *response* that is retryable (HTTP
  429/5xx but 504, Graph codes 1, 2, 130429, 131016, 131057, and 131000 once). A read timeout,
  a dropped connection after the request was written or a gateway timeout (504 without a
  Graph body) is **not** retried: the message may already be out, and the caller gets a
  :class:`GraphTransportError` with ``request_sent=None`` (or the 504) to show "unconfirmed"
  (:func:`ctreflex.whatsapp.errors.send_disposition` says which is which). Every send should
  carry ``biz_opaque_callback_data``: Meta echoes it in the status webhooks, which is how such
  a message is found again;
* **non-replayable bodies** (upload from an async iterator): never retried.

Never retried: 4xx-style Graph errors such as 100, 131047, 132000, 190, and pair/app rate
limits 131056, 4, 80007 (their waits are minutes to hours; the caller decides).

Waits are exponential: ``retry_wait_base * 2**(n-1)`` plus jitter, capped at
``retry_wait_max``; a ``Retry-After`` header wins when present. Set ``retry_wait_base=0`` in
tests.
"""

from __future__ import annotations

import io
import os
import random
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, BinaryIO, Literal
from urllib.parse import urljoin

import anyio
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from .errors import GraphAPIError, GraphTransportError, from_error_payload
from .models import (
    MediaInfo,
    PhoneNumber,
    SendResult,
    Template,
    TemplateComponentParam,
    TemplatePage,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "PHONE_NUMBER_FIELDS",
    "TEMPLATE_FIELDS",
    "CloudAPIClient",
    "RetryMode",
]

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"

PHONE_NUMBER_FIELDS = (
    "id,display_phone_number,verified_name,code_verification_status,quality_rating,"
    "platform_type,throughput,name_status,status,account_mode,messaging_limit_tier,"
    "is_official_business_account"
)
TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"

RetryMode = Literal["idempotent", "not_accepted", "never"]

#: Graph codes where trying again shortly can succeed.
RETRYABLE_CODES = frozenset({1, 2, 130429, 131016, 131057})
#: Retried at most once.
RETRY_ONCE_CODES = frozenset({131000})

_CHUNK = 1024 * 1024

UploadData = bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes] | os.PathLike


class CloudAPIClient:
    """Typed async client. Use as ``async with CloudAPIClient(token) as wa: ...``."""

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 3,
        retry_wait_base: float = 0.5,
        retry_wait_max: float = 20.0,
        upload_timeout: float | None = 300.0,
        user_agent: str = "ctreflex-whatsapp/1.0",
    ) -> None:
        if not access_token:
            raise ValueError("access_token is required")
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.max_retries = max(0, int(max_retries))
        self.retry_wait_base = max(0.0, float(retry_wait_base))
        self.retry_wait_max = max(0.0, float(retry_wait_max))
        self.upload_timeout = upload_timeout
        self._token = access_token
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            headers={"Authorization": f"Bearer {access_token}", "User-Agent": user_agent},
        )

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> CloudAPIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:  # never print the token
        return f"CloudAPIClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    # ------------------------------------------------------------------ urls
    def url(self, *parts: str) -> str:
        """``{base_url}/{api_version}/{parts...}``."""
        path = "/".join(str(p).strip("/") for p in parts if str(p))
        return f"{self.base_url}/{self.api_version}/{path}"

    # ------------------------------------------------------------------ messages
    async def send_text(
        self,
        phone_number_id: str,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Free-form text (only delivered inside the 24 h window; else a 131047 status).

        The client does not enforce the 4096-character limit (the product counts user-perceived
        characters, see :mod:`ctreflex.whatsapp.limits`); Meta rejects over-long bodies.
        """
        text: dict[str, Any] = {"body": body}
        if preview_url:
            text["preview_url"] = True
        return await self._send_message(
            phone_number_id,
            to,
            "text",
            text,
            reply_to=reply_to,
            biz_opaque_callback_data=biz_opaque_callback_data,
        )

    async def send_media(
        self,
        phone_number_id: str,
        to: str,
        kind: Literal["image", "video", "document"],
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Image / video / document by uploaded ``media_id`` or public https ``link``.

        Audio and stickers are refused: the product does not send them.
        """
        if kind not in ("image", "video", "document"):
            raise ValueError(f"unsupported media kind {kind!r} (image, video or document)")
        if bool(media_id) == bool(link):
            raise ValueError("pass exactly one of media_id or link")
        obj: dict[str, Any] = {"id": media_id} if media_id else {"link": link}
        if caption:
            obj["caption"] = caption
        if filename:
            if kind != "document":
                raise ValueError("filename is only allowed for documents")
            obj["filename"] = filename
        return await self._send_message(
            phone_number_id,
            to,
            kind,
            obj,
            reply_to=reply_to,
            biz_opaque_callback_data=biz_opaque_callback_data,
        )

    async def send_reaction(
        self, phone_number_id: str, to: str, message_id: str, emoji: str
    ) -> SendResult:
        """React to ``message_id``; an empty ``emoji`` removes the reaction."""
        return await self._send_message(
            phone_number_id, to, "reaction", {"message_id": message_id, "emoji": emoji}
        )

    async def send_template(
        self,
        phone_number_id: str,
        to: str,
        *,
        name: str,
        language: str,
        components: Iterable[TemplateComponentParam | dict[str, Any]] = (),
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Approved template. Build ``components`` with :mod:`ctreflex.whatsapp.templates`."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        comps = [
            c.to_dict() if isinstance(c, TemplateComponentParam) else dict(c) for c in components
        ]
        if comps:
            template["components"] = comps
        return await self._send_message(
            phone_number_id,
            to,
            "template",
            template,
            reply_to=reply_to,
            biz_opaque_callback_data=biz_opaque_callback_data,
        )

    async def mark_read(
        self, phone_number_id: str, message_id: str, *, typing_indicator: bool = False
    ) -> bool:
        """Mark an inbound message (and earlier ones in the chat) read; optional typing dots."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        data = await self._request(
            "POST", self.url(phone_number_id, "messages"), json=body, mode="idempotent"
        )
        return bool(data.get("success"))

    async def _send_message(
        self,
        phone_number_id: str,
        to: str,
        type_: str,
        payload: dict[str, Any],
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": normalize_recipient(to),
            "type": type_,
            type_: payload,
        }
        if reply_to:
            body["context"] = {"message_id": reply_to}
        if biz_opaque_callback_data:
            body["biz_opaque_callback_data"] = biz_opaque_callback_data
        data = await self._request(
            "POST", self.url(phone_number_id, "messages"), json=body, mode="not_accepted"
        )
        return SendResult.model_validate(data)

    # ------------------------------------------------------------------ media
    async def upload_media(
        self,
        phone_number_id: str,
        data: UploadData,
        mime_type: str,
        filename: str,
    ) -> str:
        """Upload a file; returns the media id (valid 30 days).

        ``data`` may be bytes, a binary file object (streamed in 1 MB chunks, rewound on
        retry when seekable), a path, or an async iterable of bytes (streamed, never retried).
        The multipart body is streamed, so a 100 MB PDF is not copied in memory.
        """
        boundary = secrets.token_hex(16)
        head = _multipart_head(boundary, mime_type, filename)
        tail = f"\r\n--{boundary}--\r\n".encode()
        opened: BinaryIO | None = None
        if isinstance(data, os.PathLike):
            opened = open(data, "rb")  # noqa: SIM115 - closed in finally
            data = opened
        try:
            size = _known_size(data)
            mode: RetryMode = "not_accepted"
            start_pos: int | None = None
            if isinstance(data, (bytes, bytearray, memoryview)):
                payload = bytes(data) if not isinstance(data, bytes) else data

                def factory() -> AsyncIterator[bytes]:
                    return _aiter_chunks(head, payload, tail)
            elif hasattr(data, "read"):
                fobj: BinaryIO = data  # type: ignore[assignment]
                try:
                    start_pos = fobj.tell() if fobj.seekable() else None
                except (OSError, AttributeError, ValueError):
                    start_pos = None
                if start_pos is None:
                    mode = "never"

                def factory() -> AsyncIterator[bytes]:
                    if start_pos is not None:
                        fobj.seek(start_pos)
                    return _aiter_file(head, fobj, tail)
            elif isinstance(data, AsyncIterable):
                mode = "never"
                stream = data

                def factory() -> AsyncIterator[bytes]:
                    return _aiter_async(head, stream, tail)
            else:
                raise TypeError(f"unsupported upload data type {type(data).__name__}")
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            if size is not None:
                headers["Content-Length"] = str(len(head) + size + len(tail))
            result = await self._request(
                "POST",
                self.url(phone_number_id, "media"),
                content_factory=factory,
                headers=headers,
                mode=mode,
                timeout=self.upload_timeout,
            )
        finally:
            if opened is not None:
                opened.close()
        media_id = result.get("id")
        if not media_id:
            raise GraphAPIError(None, title="Upload returned no media id", payload=result)
        return str(media_id)

    async def get_media(self, media_id: str, *, phone_number_id: str | None = None) -> MediaInfo:
        """Media metadata incl. a download ``url`` valid ~5 minutes."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        data = await self._request("GET", self.url(media_id), params=params, mode="idempotent")
        return MediaInfo.model_validate(data)

    async def delete_media(self, media_id: str, *, phone_number_id: str | None = None) -> bool:
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        data = await self._request("DELETE", self.url(media_id), params=params, mode="idempotent")
        return bool(data.get("success"))

    def _media_url(self, url: str) -> str:
        # Absolute URLs are used as given; a relative one is resolved against base_url.
        if url.startswith(("http://", "https://")):
            return url
        return urljoin(self.base_url + "/", url.lstrip("/"))

    async def download_media(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """Download a media ``url`` (from :meth:`get_media`) with the bearer token.

        Only pass URLs obtained from Meta: the access token is sent to that host.
        """
        chunks: list[bytes] = []
        total = 0
        async for chunk in self.stream_media(url):
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise ValueError(f"media larger than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def stream_media(self, url: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """Async iterator over the media bytes (bearer token sent; redirects followed).

        Opening the download is retried like any GET; a failure mid-stream raises
        :class:`GraphTransportError`.
        """
        target = self._media_url(url)

        async def open_stream() -> httpx.Response:
            req = self._http.build_request("GET", target)
            try:
                resp = await self._http.send(req, stream=True)
            except httpx.HTTPError as exc:
                raise _transport_error(exc) from exc
            if resp.status_code >= 400:
                try:
                    await resp.aread()
                finally:
                    await resp.aclose()
                raise _error_from_response(resp)
            return resp

        resp = await self._with_retries(open_stream, "idempotent")
        try:
            async for chunk in resp.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        finally:
            await resp.aclose()

    # ------------------------------------------------------------------ templates
    async def iter_templates(
        self,
        waba_id: str,
        *,
        limit: int = 100,
        status: str | None = None,
        category: str | None = None,
        name: str | None = None,
        language: str | None = None,
        fields: str = TEMPLATE_FIELDS,
    ) -> AsyncIterator[Template]:
        """Yield templates page by page, following ``after`` cursors while ``paging.next``."""
        params: dict[str, Any] = {"fields": fields, "limit": limit}
        for key, value in (
            ("status", status),
            ("category", category),
            ("name", name),
            ("language", language),
        ):
            if value:
                params[key] = value
        seen_cursors: set[str] = set()
        while True:
            data = await self._request(
                "GET", self.url(waba_id, "message_templates"), params=params, mode="idempotent"
            )
            page = TemplatePage.model_validate(data)
            for tpl in page.data:
                yield tpl
            after = _next_cursor(page)
            if not after or after in seen_cursors or not page.data:
                return
            seen_cursors.add(after)
            params = {**params, "after": after}

    async def list_templates(
        self,
        waba_id: str,
        *,
        limit: int = 100,
        status: str | None = None,
        category: str | None = None,
        name: str | None = None,
        language: str | None = None,
    ) -> list[Template]:
        return [
            t
            async for t in self.iter_templates(
                waba_id,
                limit=limit,
                status=status,
                category=category,
                name=name,
                language=language,
            )
        ]

    # ------------------------------------------------------------------ phone numbers
    async def list_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        params: dict[str, Any] = {"fields": PHONE_NUMBER_FIELDS}
        out: list[PhoneNumber] = []
        seen: set[str] = set()
        while True:
            data = await self._request(
                "GET", self.url(waba_id, "phone_numbers"), params=params, mode="idempotent"
            )
            rows = data.get("data") or []
            out.extend(PhoneNumber.model_validate(r) for r in rows)
            page = TemplatePage.model_validate({"paging": data.get("paging")})
            after = _next_cursor(page)
            if not after or after in seen or not rows:
                return out
            seen.add(after)
            params = {**params, "after": after}

    async def get_phone_number(self, phone_number_id: str) -> PhoneNumber:
        data = await self._request(
            "GET",
            self.url(phone_number_id),
            params={"fields": PHONE_NUMBER_FIELDS},
            mode="idempotent",
        )
        return PhoneNumber.model_validate(data)

    async def add_phone_number(
        self, waba_id: str, cc: str, phone_number: str, verified_name: str
    ) -> str:
        """Create a number on the WABA (step 1 of 4); returns the new phone-number id."""
        data = await self._request(
            "POST",
            self.url(waba_id, "phone_numbers"),
            json={"cc": str(cc), "phone_number": str(phone_number), "verified_name": verified_name},
            mode="not_accepted",
        )
        return str(data["id"])

    async def request_code(
        self,
        phone_number_id: str,
        method: Literal["SMS", "VOICE"] = "SMS",
        language: str = "en_US",
    ) -> bool:
        """Ask Meta to send the verification code by SMS or voice call (step 2)."""
        method_u = method.upper()
        if method_u not in ("SMS", "VOICE"):
            raise ValueError("method must be SMS or VOICE")
        data = await self._request(
            "POST",
            self.url(phone_number_id, "request_code"),
            json={"code_method": method_u, "language": language},
            mode="not_accepted",
        )
        return bool(data.get("success"))

    async def verify_code(self, phone_number_id: str, code: str) -> bool:
        """Submit the 6-digit verification code (step 3)."""
        data = await self._request(
            "POST",
            self.url(phone_number_id, "verify_code"),
            json={"code": str(code)},
            mode="not_accepted",
        )
        return bool(data.get("success"))

    async def register(
        self, phone_number_id: str, pin: str, data_localization_region: str | None = None
    ) -> bool:
        """Register for Cloud API (step 4). Limited to 10 per 72 h (133016)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "pin": str(pin)}
        if data_localization_region:
            body["data_localization_region"] = data_localization_region
        data = await self._request(
            "POST", self.url(phone_number_id, "register"), json=body, mode="not_accepted"
        )
        return bool(data.get("success"))

    async def deregister(self, phone_number_id: str) -> bool:
        data = await self._request(
            "POST", self.url(phone_number_id, "deregister"), json={}, mode="not_accepted"
        )
        return bool(data.get("success"))

    # ------------------------------------------------------------------ plumbing
    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content_factory: Callable[[], AsyncIterator[bytes]] | None = None,
        headers: dict[str, str] | None = None,
        mode: RetryMode,
        timeout: float | None | Literal["default"] = "default",
    ) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"params": params, "headers": headers}
            if json is not None:
                kwargs["json"] = json
            if content_factory is not None:
                kwargs["content"] = content_factory()
            if timeout != "default":
                kwargs["timeout"] = timeout
            try:
                resp = await self._http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                raise _transport_error(exc) from exc
            return _json_or_raise(resp)

        return await self._with_retries(once, mode)

    async def _with_retries(self, fn: Callable[[], Awaitable[Any]], mode: RetryMode) -> Any:
        if mode == "never" or self.max_retries == 0:
            return await fn()
        once_seen: set[int] = set()

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, GraphTransportError):
                if exc.request_sent is False:
                    return True
                return mode == "idempotent"
            if isinstance(exc, GraphAPIError):
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
            return False

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            reraise=True,
            sleep=anyio.sleep,
        )
        async for attempt in retrying:
            with attempt:
                return await fn()
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after >= 0:
            return min(float(retry_after), self.retry_wait_max)
        if self.retry_wait_base <= 0:
            return 0.0
        base = self.retry_wait_base * (2 ** max(0, state.attempt_number - 1))
        return min(base + random.uniform(0, self.retry_wait_base), self.retry_wait_max)


# ---------------------------------------------------------------------------- helpers


_PHONE_LIKE = re.compile(r"[+\d\s().-]+")


def normalize_recipient(to: str) -> str:
    """Meta tolerates ``+`` and spaces; send digits (``+1 555-010-0142`` → ``15550100142``).

    Anything that does not look like a phone number (e.g. a business-scoped user id such as
    ``US.1349…``) is passed through unchanged.
    """
    value = str(to).strip()
    if _PHONE_LIKE.fullmatch(value):
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits:
            return digits
    return value


def _next_cursor(page: TemplatePage) -> str | None:
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


def _error_from_response(resp: httpx.Response) -> GraphAPIError:
    try:
        payload: Any = resp.json()
    except ValueError:
        payload = {"raw": resp.text}
    if not isinstance(payload, dict):
        payload = {"raw": resp.text}
    return from_error_payload(payload, resp.status_code, retry_after=_parse_retry_after(resp))


def _json_or_raise(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code >= 400 or resp.status_code < 200:
        raise _error_from_response(resp)
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


def _transport_error(exc: httpx.HTTPError) -> GraphTransportError:
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


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "").replace("\n", "")


def _multipart_head(boundary: str, mime_type: str, filename: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\n'
        f"whatsapp\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n'
        f"{_quote(mime_type)}\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{_quote(filename)}"\r\nContent-Type: {_quote(mime_type)}\r\n\r\n',
    ]
    return "".join(parts).encode("utf-8")


def _known_size(data: Any) -> int | None:
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    if hasattr(data, "read"):
        try:
            if hasattr(data, "fileno"):
                try:
                    total = os.fstat(data.fileno()).st_size
                    return max(0, total - data.tell())
                except (OSError, io.UnsupportedOperation, AttributeError):
                    pass
            if data.seekable():
                pos = data.tell()
                end = data.seek(0, os.SEEK_END)
                data.seek(pos)
                return max(0, end - pos)
        except (OSError, AttributeError, ValueError):
            return None
    return None


async def _aiter_chunks(head: bytes, payload: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    view = memoryview(payload)
    for i in range(0, len(view), _CHUNK):
        yield bytes(view[i : i + _CHUNK])
    yield tail


async def _aiter_file(head: bytes, fobj: BinaryIO, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    while True:
        chunk = fobj.read(_CHUNK)
        if not chunk:
            break
        yield bytes(chunk)
    yield tail


async def _aiter_async(
    head: bytes, stream: AsyncIterable[bytes], tail: bytes
) -> AsyncIterator[bytes]:
    yield head
    async for chunk in stream:
        if chunk:
            yield bytes(chunk)
    yield tail
