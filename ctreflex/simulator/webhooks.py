"""Webhook envelopes, signing and the delivery worker (at-least-once, retried with backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from .state import Delivery, PhoneNumber, SimState

log = logging.getLogger("ctreflex.simulator.webhooks")


def sign(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` header value for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def serialise(payload: dict[str, Any]) -> str:
    """Serialise once (escaped unicode, like Meta); the same bytes are signed and sent."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":"))


def _metadata(pn: PhoneNumber) -> dict[str, str]:
    return {"display_phone_number": pn.digits, "phone_number_id": pn.id}


def messages_envelope(pn: PhoneNumber, contacts: list[dict[str, Any]],
                      messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": pn.waba_id,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": _metadata(pn),
                    "contacts": contacts,
                    "messages": messages,
                },
                "field": "messages",
            }],
        }],
    }


def statuses_envelope(pn: PhoneNumber, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": pn.waba_id,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": _metadata(pn),
                    "statuses": statuses,
                },
                "field": "messages",
            }],
        }],
    }


def template_status_envelope(waba_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba_id,
            "time": int(time.time()),
            "changes": [{"value": value, "field": "message_template_status_update"}],
        }],
    }


Sender = Callable[[str, bytes, dict[str, str]], Awaitable[int]]


class Dispatcher:
    """Queue of signed deliveries plus a timer wheel for scheduled simulator events.

    Everything runs on the event loop that called :meth:`start`. Deliveries are attempted in
    order of due time, one at a time (a slow receiver delays what is behind it, like Meta).
    """

    def __init__(
        self,
        state_getter: Callable[[], SimState],
        *,
        webhook_url: str | None,
        app_secret: str,
        retry_schedule: Sequence[float],
        give_up_after: float,
        timeout: float = 10.0,
        sender: Sender | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._state = state_getter
        self.webhook_url = webhook_url
        self.app_secret = app_secret
        self.retry_schedule = list(retry_schedule) or [1.0]
        self.give_up_after = give_up_after
        self.timeout = timeout
        self._sender = sender
        self._on_change = on_change or (lambda: None)
        self._timers: list[tuple[float, int, Callable[[], Any]]] = []
        self._seq = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        if self._task is None or self._task.done():
            return False
        try:
            return self._loop is asyncio.get_running_loop()
        except RuntimeError:
            return True

    async def start(self) -> None:
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.timeout)
        self._task = asyncio.create_task(self._run(), name="whatsapp-sim-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
        if self._client is not None:
            with contextlib.suppress(RuntimeError):
                await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        if self._wake is not None and self._loop is not None:
            try:
                if asyncio.get_running_loop() is self._loop:
                    self._wake.set()
                    return
            except RuntimeError:
                pass
            self._loop.call_soon_threadsafe(self._wake.set)

    # ---- timers --------------------------------------------------------------------------
    def call_later(self, delay: float, fn: Callable[[], Any]) -> None:
        self._seq += 1
        self._timers.append((time.time() + max(delay, 0.0), self._seq, fn))
        self.wake()

    def clear_timers(self) -> None:
        self._timers.clear()

    # ---- deliveries ----------------------------------------------------------------------
    def enqueue(self, kind: str, payload: dict[str, Any], summary: str) -> list[Delivery]:
        """Queue a webhook, applying the fault knobs (drop / duplicate / shuffle)."""
        state = self._state()
        faults = state.faults
        body = serialise(payload)
        now = time.time()
        copies = 2 if faults.duplicate_webhooks and random.random() < faults.duplicate_webhooks \
            else 1
        made: list[Delivery] = []
        for n in range(copies):
            delay = random.uniform(0.0, 1.0) if faults.shuffle_webhooks else 0.0
            if n:
                delay += 0.05
            d = Delivery(id=uuid.uuid4().hex[:16], body=body, kind=kind,
                         summary=summary + (" (duplicate)" if n else ""), created_at=now,
                         next_attempt_at=now + delay)
            if faults.drop_webhooks and random.random() < faults.drop_webhooks:
                d.state = "dropped"
            elif not self.webhook_url:
                d.state = "skipped"  # nowhere to deliver: logged only
            state.deliveries.append(d)
            made.append(d)
        if len(state.deliveries) > 2000:  # keep the log bounded, never drop pending work
            done = [x for x in state.deliveries if x.state != "pending"]
            for old in done[: len(state.deliveries) - 2000]:
                state.deliveries.remove(old)
        self._on_change()
        self.wake()
        return made

    def pending(self) -> list[Delivery]:
        return [d for d in self._state().deliveries if d.state == "pending"]

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._sender is not None:
            return await self._sender(url, body, headers)
        assert self._client is not None
        resp = await self._client.post(url, content=body, headers=headers)
        return resp.status_code

    async def attempt(self, d: Delivery) -> None:
        body = d.body.encode("ascii")
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(self.app_secret, body),
            "User-Agent": "facebookexternalua",
        }
        started = time.time()
        record: dict[str, Any] = {"at": round(started, 3)}
        ok = False
        if not self.webhook_url:
            record["error"] = "no webhook_url configured"
        else:
            try:
                code = await self._post(self.webhook_url, body, headers)
                record["status_code"] = code
                ok = 200 <= code < 300
            except Exception as exc:  # noqa: BLE001 - any transport failure = retry
                record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        record["ms"] = int((time.time() - started) * 1000)
        d.attempts.append(record)
        if ok:
            d.state = "delivered"
        elif time.time() - d.created_at > self.give_up_after:
            d.state = "gave_up"
        else:
            n = len(d.attempts) - 1
            d.next_attempt_at = time.time() + self.retry_schedule[
                min(n, len(self.retry_schedule) - 1)]
        self._on_change()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the worker must not die
                log.exception("webhook worker tick failed")
            next_due = self._next_due()
            timeout = None if next_due is None else max(0.0, next_due - time.time())
            self._wake.clear()
            if timeout is None or timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout or 1.0)
            else:
                await asyncio.sleep(0)

    def _next_due(self) -> float | None:
        dues = [t[0] for t in self._timers]
        if not self._state().faults.webhook_paused:
            dues += [d.next_attempt_at for d in self.pending()]
        return min(dues) if dues else None

    async def _tick(self) -> None:
        now = time.time()
        due_timers = sorted(t for t in self._timers if t[0] <= now)
        for t in due_timers:
            self._timers.remove(t)
            try:
                res = t[2]()
                if asyncio.iscoroutine(res):
                    await res
            except Exception:  # noqa: BLE001
                log.exception("simulator timer failed")
        if self._state().faults.webhook_paused:
            return
        due = sorted((d for d in self.pending() if d.next_attempt_at <= time.time()),
                     key=lambda d: (d.next_attempt_at, d.created_at))
        for d in due:
            if self._state().faults.webhook_paused:
                return
            await self.attempt(d)
