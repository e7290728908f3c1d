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

import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import IO, Any, BinaryIO, Literal
from urllib.parse import urljoin

import anyio
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from .errors import GraphAPIError
from .models import (
    MediaInfo,
    SendResult,
    Template,
    TemplateComponentParam,
    TemplatePage,
)
from .phone_numbers import PHONE_NUMBER_FIELDS, PhoneNumbersAPI
from .transport import (
    RetryMode,
    backoff_seconds,
    error_from_response,
    json_or_raise,
    next_cursor,
    should_retry,
    transport_error,
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

TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"

_SPOOL_CHUNK = 1024 * 1024

UploadData = bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes] | os.PathLike


class CloudAPIClient(PhoneNumbersAPI):
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

        ``data`` may be bytes, a binary file object (sent from its start, again on a retry when
        it is seekable), a path, or an async iterable of bytes (spooled to a temporary file
        first, as httpx reads multipart files synchronously; never retried). httpx's
        ``files=`` builds the multipart body and streams it in chunks, so a 100 MB PDF is not
        copied in memory.
        """
        mime_type = mime_type.replace("\r", "").replace("\n", "")  # goes into a part header
        mode: RetryMode = "not_accepted"
        with contextlib.ExitStack() as stack:
            if isinstance(data, os.PathLike):
                data = stack.enter_context(open(data, "rb"))  # noqa: SIM115 - the stack closes it
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            elif isinstance(data, AsyncIterable):
                data = await _spool(data, stack.enter_context(tempfile.TemporaryFile()))
                mode = "never"
            elif hasattr(data, "read"):
                if not _seekable(data):
                    mode = "never"
            elif not isinstance(data, bytes):
                raise TypeError(f"unsupported upload data type {type(data).__name__}")
            result = await self._request(
                "POST",
                self.url(phone_number_id, "media"),
                data={"messaging_product": "whatsapp", "type": mime_type},
                files={"file": (filename, data, mime_type)},
                mode=mode,
                timeout=self.upload_timeout,
            )
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
                raise transport_error(exc) from exc
            if resp.status_code >= 400:
                try:
                    await resp.aread()
                finally:
                    await resp.aclose()
                raise error_from_response(resp)
            return resp

        resp = await self._with_retries(open_stream, "idempotent")
        try:
            async for chunk in resp.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
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
            after = next_cursor(page)
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

    # ------------------------------------------------------------------ plumbing
    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        mode: RetryMode,
        timeout: float | None | Literal["default"] = "default",
    ) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"params": params}
            if json is not None:
                kwargs["json"] = json
            if files is not None:  # httpx rewinds seekable files when it builds the body
                kwargs["data"], kwargs["files"] = data, files
            if timeout != "default":
                kwargs["timeout"] = timeout
            try:
                resp = await self._http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                raise transport_error(exc) from exc
            return json_or_raise(resp)

        return await self._with_retries(once, mode)

    async def _with_retries(self, fn: Callable[[], Awaitable[Any]], mode: RetryMode) -> Any:
        if mode == "never" or self.max_retries == 0:
            return await fn()
        once_seen: set[int] = set()

        def retry(exc: BaseException) -> bool:
            return should_retry(exc, mode, once_seen)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(retry),
            reraise=True,
            sleep=anyio.sleep,
        )
        async for attempt in retrying:
            with attempt:
                return await fn()
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff_seconds(
            exc, state.attempt_number, self.retry_wait_base, self.retry_wait_max
        )


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


def _seekable(fobj: Any) -> bool:
    try:
        return bool(fobj.seekable())
    except (OSError, AttributeError, ValueError):
        return False


async def _spool(stream: AsyncIterable[bytes], spool: IO[bytes]) -> IO[bytes]:
    """Copy an async byte stream into ``spool`` (a temporary file) and rewind it."""
    buffered: list[bytes] = []
    size = 0
    async for chunk in stream:
        if chunk:
            buffered.append(bytes(chunk))
            size += len(chunk)
        if size >= _SPOOL_CHUNK:
            spool.write(b"".join(buffered))
            buffered, size = [], 0
    spool.write(b"".join(buffered))
    spool.seek(0)
    return spool
