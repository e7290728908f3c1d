"""The simulators served by their own process (several app workers, `make run-scaled`), reached
through the app's port.

In simulator mode with CTREFLEX_GRAPH_BASE_URL (or CTREFLEX_SMS_BASE_URL) pointing away from this
app, the app does NOT build a simulator of its own: a copy per worker would give each worker its
own customers, windows and outbox. /simulator (and /sms-simulator) then forward every request to
that one simulator, so the customer phone page, its control API and a test's calls answer the
same from every worker, on the one port the browser uses. The Graph client calls the simulator
directly (the base URL), not through here.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

# hop-by-hop headers (RFC 9110 7.6.1) and the ones httpx recomputes
_DROP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
         "trailer", "transfer-encoding", "upgrade", "host", "content-length"}


class SimulatorProxy:
    """An ASGI app mounted at `prefix` that forwards to `target` + the same path (the standalone
    simulator serves under the same prefix: `python -m ctreflex.simulator --mount /simulator`)."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        self._loop = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # a client per event loop
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
            self._loop = loop
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan (never sent to a mount) or websocket: not served
        request = Request(scope, receive)
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        url = self.target + (path or "/")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROP]
        body = await request.body()
        try:
            http = self._http()
            outgoing = http.build_request(request.method, url, headers=headers, content=body,
                                          params=request.query_params.multi_items())
            upstream = await http.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            response = PlainTextResponse(
                f"The simulator is not reachable ({exc.__class__.__name__}). Is "
                "`python -m ctreflex.simulator` running?",
                status_code=502,
            )
            await response(scope, receive, send)
            return
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k.lower() not in _DROP},
            background=BackgroundTask(upstream.aclose),
        )
        await response(scope, receive, send)
