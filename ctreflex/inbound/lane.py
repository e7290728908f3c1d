"""The webhook lane: the signed WhatsApp POST answered on raw ASGI in front of FastAPI, and
the journal writer every webhook (WhatsApp and SMS) goes through before its answer.

Buys: the one route Meta calls at volume skips FastAPI's request/response objects, dependency
solving and JSON encoder (bare endpoint ~4,000 -> ~15,000 req/s on this path, webhook 200s/s
2,144 -> 2,588: docs/PERFORMANCE.md, "WebhookLane"); group commit writes every body that
arrived during the previous commit in one transaction. Guarded by tests/api/test_webhook_lane.py
(200 only once the exact body is stored, 413, 500 storing nothing, 401, other routes untouched).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import json
import logging
import os

from ctreflex.inbound import journal
from ctreflex.inbound.gate import write_gate
from ctreflex.inbound.processor import processor
from ctreflex.settings import get_settings
from ctreflex.whatsapp import verify_signature
from ctreflex.whatsapp.webhooks import MAX_BODY_BYTES as WHATSAPP_MAX_BODY_BYTES

log = logging.getLogger("ctreflex.webhooks")

# Meta's webhook bodies are a few KB; this refuses abuse (the parser refuses more, too)
MAX_BODY_BYTES = WHATSAPP_MAX_BODY_BYTES


class JournalWriter:
    """Group commit for the journal: one task and ONE thread write every body that arrived
    while the previous write was committing, in one INSERT and one COMMIT, then answer each
    request. A request gets its event id (and its answer) only after its body is committed; if
    the write fails, every request of that batch gets the error (a 500: the sender retries)."""

    MAX_BATCH = 1000

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._queue: list[tuple[journal.Row, asyncio.Future]] = []
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="journal-writer"
        )

    async def write(self, body: bytes, provider: str = "whatsapp", kind: str = "",
                    account_id: int | None = None) -> int:
        """Journal one body; returns its event id once committed (then wakes the processor)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use on this event loop (tests run several)
            self._loop, self._queue, self._task = loop, [], None
        future = loop.create_future()
        self._queue.append(((provider, kind, account_id, body), future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._flush(), name="journal-writer")
        return await future

    async def _flush(self) -> None:
        """Write batches until the queue is empty, then end (the next body starts a new one)."""
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[: self.MAX_BATCH], self._queue[self.MAX_BATCH :]
            try:
                ids = await loop.run_in_executor(self._thread, _journal, [r for r, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - each waiting request answers 500
                log.exception("could not journal %d webhook bodies", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), event_id in zip(batch, ids, strict=True):
                if not future.done():  # a client that went away: its body is kept anyway
                    future.set_result(event_id)
            processor.notify()


def _journal(rows: list[journal.Row]) -> list[int]:
    with write_gate.journal():
        return journal.journal_rows(rows)


journal_writer = JournalWriter()


async def read_body(receive) -> bytes | None:
    """The whole request body, or None when it is larger than MAX_BODY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def answer(send, status: int, payload: dict) -> None:
    data = json.dumps(payload, separators=(",", ":")).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode())],
    })
    await send({"type": "http.response.body", "body": data})


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:  # ASGI servers give header names in lower case
            return value
    return None


async def receive_whatsapp(scope, receive, send) -> None:
    """POST /webhooks/whatsapp: verify the signature on the raw body, journal it (committed),
    then 200. A bad signature gets 401 and stores nothing; a body the journal could not take
    gets 500, so Meta sends it again."""
    body = await read_body(receive)
    if body is None:
        log.warning("refused a WhatsApp webhook body over %d bytes (413)", MAX_BODY_BYTES)
        await answer(send, 413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
        return
    secret = get_settings().app_secret.get_secret_value()
    if not verify_signature(secret, body, _header(scope, b"x-hub-signature-256")):
        await answer(send, 401, {"error": "invalid X-Hub-Signature-256"})
        return
    try:
        event_id = await journal_writer.write(body)  # committed when this returns
    except Exception:  # noqa: BLE001 - logged by the writer; the sender retries on 5xx
        await answer(send, 500, {"error": "could not store the event; send it again"})
        return
    await answer(send, 200, {"ok": True, "event_id": event_id})


def _plugin_routes() -> dict:
    """POST routes a benchmark adds to the lane: CTREFLEX_LANE_PLUGIN names a module with a
    ROUTES dict (bench/bare.py). Never set in a deployment; nothing is added without it."""
    name = os.environ.get("CTREFLEX_LANE_PLUGIN", "").strip()
    return dict(importlib.import_module(name).ROUTES) if name else {}


class WebhookLane:
    """ASGI middleware in front of the API's routing: the signed webhook POST is answered here,
    on the raw ASGI messages, without FastAPI's request/response machinery (it is the one route
    Meta calls at up to 1,000 messages/s per number). Everything else passes through."""

    def __init__(self, app) -> None:
        self.app = app
        self.routes = {"/webhooks/whatsapp": receive_whatsapp, **_plugin_routes()}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.routes.get(scope["path"])
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.app(scope, receive, send)
