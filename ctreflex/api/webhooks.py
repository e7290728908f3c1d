"""WhatsApp webhooks: the GET handshake, and signed POSTs journaled before the 200."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from ctreflex import db
from ctreflex.services import ingest
from ctreflex.services.processor import processor
from ctreflex.settings import get_settings
from ctreflex.whatsapp import verify_handshake, verify_signature

router = APIRouter()
log = logging.getLogger("ctreflex.webhooks")


@router.get("/webhooks/whatsapp")
async def handshake(request: Request):
    params = request.query_params
    challenge = verify_handshake(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        get_settings().verify_token.get_secret_value(),
    )
    if challenge is None:
        return PlainTextResponse("Verification token mismatch", status_code=403)
    return PlainTextResponse(challenge)


class JournalWriter:
    """Group commit for the journal: one task and ONE thread write every body that arrived
    while the previous write was committing, in one INSERT and one COMMIT, then answer each
    request. A request gets its event id (and its 200) only after its body is committed; if the
    write fails, every request of that batch gets the error (a 500: the sender retries)."""

    MAX_BATCH = 1000

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._queue: list[tuple[bytes, asyncio.Future]] = []
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="journal-writer"
        )

    async def write(self, body: bytes) -> int:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use on this event loop (tests run several)
            self._loop, self._queue, self._task = loop, [], None
        future = loop.create_future()
        self._queue.append((body, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._flush(), name="journal-writer")
        return await future

    async def _flush(self) -> None:
        """Write batches until the queue is empty, then end (the next body starts a new one)."""
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[: self.MAX_BATCH], self._queue[self.MAX_BATCH :]
            try:
                ids = await loop.run_in_executor(
                    self._thread, _journal_many, [body for body, _ in batch]
                )
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


def _journal_many(bodies: list[bytes]) -> list[int]:
    with ingest.write_gate.journal(), db.session_scope() as session:
        return ingest.journal_many(session=session, provider="whatsapp", bodies=bodies)


journal_writer = JournalWriter()


@router.post("/webhooks/whatsapp")
async def receive(request: Request):
    body = await request.body()
    secret = get_settings().app_secret.get_secret_value()
    if not verify_signature(secret, body, request.headers.get("x-hub-signature-256")):
        return JSONResponse({"error": "invalid X-Hub-Signature-256"}, status_code=401)
    event_id = await journal_writer.write(body)  # committed when this returns
    return {"ok": True, "event_id": event_id}

if os.environ.get("CTREFLEX_BENCH_BARE") == "1":
    # Benchmarks only (bench/ingest.py): the cheapest POST this process can answer, for the
    # ratio "webhook throughput / bare endpoint throughput" measured in the same run.

    @router.post("/bench/bare")
    async def bench_bare(request: Request):
        await request.body()
        return {"ok": True}
