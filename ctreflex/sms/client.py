"""Async client for the SMS provider's REST API (the shape of Twilio's Messages API).

    client = SMSClient(account_sid, auth_token, base_url="https://api.twilio.com")
    sent = await client.send(to="+12125550142", from_="+15550100150", body="Hi",
                             status_callback="https://app.example/webhooks/sms/status")

Requests are form-encoded with HTTP basic auth (account SID, auth token); answers are JSON.
A refusal raises SMSAPIError with the provider's code; a network failure SMSTransportError,
whose ``request_sent`` is False when the request certainly never reached the provider and None
when it may have (a read timeout: the text may be on its way, so it must not be sent again).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import httpx

from ctreflex.sms.errors import SMSAPIError, SMSTransportError
from ctreflex.sms.models import API_VERSION, MessageResource

DEFAULT_BASE_URL = "https://api.twilio.com"
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


class SMSClient:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(account_sid, auth_token),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "ctreflex-sms/1"},
        )

    @property
    def _messages(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SMSClient:
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.aclose()

    async def _request(self, method: str, url: str, **kwargs) -> dict:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            error = SMSTransportError(
                f"Could not reach the SMS provider: {exc.__class__.__name__}: {exc}"
            )
            # Only a failure to connect proves the provider never got the request; after a
            # read timeout or a dropped connection a text may be on its way (None: unknown).
            error.request_sent = False if isinstance(exc, _NOT_SENT) else None
            raise error from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        if isinstance(data, dict) and ("code" in data or "message" in data):
            code = data.get("code")
            raise SMSAPIError(
                int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
                str(data.get("message") or response.reason_phrase),
                http_status=response.status_code,
                more_info=str(data.get("more_info") or ""),
            )
        error = SMSTransportError(
            f"The SMS provider answered HTTP {response.status_code} without its JSON body."
        )
        # a 2xx we cannot read, or a gateway that gave up waiting: the text may be out
        error.request_sent = None if response.is_success or response.status_code == 504 else False
        raise error

    async def send(
        self,
        *,
        to: str,
        from_: str,
        body: str = "",
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
    ) -> MessageResource:
        form: list[tuple[str, str]] = [("To", to), ("From", from_)]
        if body:
            form.append(("Body", body))
        form.extend(("MediaUrl", url) for url in media_urls)
        if status_callback:
            form.append(("StatusCallback", status_callback))
        data = await self._request(
            "POST",
            f"{self._messages}.json",
            content=urlencode(form).encode(),  # repeated MediaUrl keys keep their order
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return MessageResource.model_validate(data)

    async def fetch(self, sid: str) -> MessageResource:
        data = await self._request("GET", f"{self._messages}/{sid}.json")
        return MessageResource.model_validate(data)

    async def download_media(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """An inbound MMS file (basic auth, redirects followed): (bytes, content type)."""
        try:
            async with self._http.stream("GET", url, follow_redirects=True) as response:
                if not response.is_success:
                    raise SMSTransportError(f"media download answered HTTP {response.status_code}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise SMSTransportError(f"media larger than {max_bytes} bytes")
                    chunks.append(chunk)
                ctype = response.headers.get("content-type", "").split(";")[0].strip()
                return b"".join(chunks), ctype
        except httpx.HTTPError as exc:
            raise SMSTransportError(f"media download failed: {exc}") from exc
