"""Live updates, per account.

Each open inbox tab runs one background listener that waits on its account's stream; the
webhook, the send path and the jobs publish small events after they commit. Nothing is linked
between tabs, so one agent's clicks and typing never send anything to another agent's tab, and
no account's events reach another account's tabs. Bursts are coalesced: a listener wakes once
and takes every event queued since.

One process keeps the streams in memory. With several workers (REFLEX_REDIS_URL set) the same
events travel through Redis pub/sub, so a tab hears events published by any worker. Every
channel and key this app puts in Redis starts with the deployment's prefix
(CTREFLEX_REDIS_PREFIX, default `ctreflex:<database name>`): two deployments on one Redis never
hear each other's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable

log = logging.getLogger("ctreflex.realtime")

_MAX_QUEUE = 1000


class Subscription:
    def __init__(self, account_id: int):
        self.account_id = account_id
        self._queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=_MAX_QUEUE)
        self.overflowed = False

    def _put(self, event: dict) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True  # the listener reloads everything

    async def next_batch(self, timeout: float | None) -> list[dict]:
        """Wait up to `timeout` seconds for events; return all of them (empty on timeout)."""
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return []
        batch = [first]
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch


def redis_url() -> str | None:
    return os.environ.get("REFLEX_REDIS_URL") or os.environ.get("CTREFLEX_REDIS_URL") or None


def redis_key(*parts: object) -> str:
    """A Redis channel or key name under this deployment's prefix: redis_key("account", 7) is
    `ctreflex:<db>:account:7` by default."""
    from ctreflex.settings import get_settings

    return ":".join([get_settings().redis_namespace, *(str(p) for p in parts)])


def account_channel(account_id: int) -> str:
    return redis_key("account", account_id)


class Broker:
    def __init__(self) -> None:
        self._subs: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis = None
        self._redis_task: asyncio.Task | None = None
        self._relay: Callable[[int, dict], None] | None = None
        self._listeners: list[Callable[[int, dict], None]] = []

    def set_relay(self, relay: Callable[[int, dict], None] | None) -> None:
        """Hand every published event to `relay` instead (the processor's child process sends
        them to its web worker, which publishes them to its tabs)."""
        self._relay = relay

    def add_listener(self, listener: Callable[[int, dict], None]) -> None:
        """Call `listener(account_id, event)` on the event loop for every event this process
        publishes for real (not when relaying to the web worker, which publishes it again). It
        must return at once (e.g. the outbound webhooks hand the work to a thread)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def subscriber_count(self, account_id: int | None = None) -> int:
        if account_id is None:
            return sum(len(s) for s in self._subs.values())
        return len(self._subs.get(account_id, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, account_id: int) -> AsyncIterator[Subscription]:
        self._loop = asyncio.get_running_loop()
        await self._ensure_redis()
        sub = Subscription(account_id)
        self._subs.setdefault(account_id, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(account_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    self._subs.pop(account_id, None)

    def _deliver(self, account_id: int, event: dict) -> None:
        for sub in list(self._subs.get(account_id, ())):
            sub._put(event)

    async def publish(self, account_id: int, event: dict) -> None:
        event = {**event, "account_id": account_id}
        if self._relay is not None:
            self._relay(account_id, event)
            return
        for listener in self._listeners:
            try:
                listener(account_id, event)
            except Exception:  # noqa: BLE001 - a listener never stops the live update
                log.exception("realtime listener %r failed", listener)
        await self._ensure_redis()  # a worker with no tab open still publishes to the others
        if self._redis is not None:
            await self._redis.publish(account_channel(account_id), json.dumps(event))
            return
        self._deliver(account_id, event)

    def publish_threadsafe(self, account_id: int, event: dict) -> None:
        """Publish from synchronous code (a thread or a job) without awaiting."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(self.publish(account_id, event))
        else:
            asyncio.run_coroutine_threadsafe(self.publish(account_id, event), loop)

    async def _ensure_redis(self) -> None:
        url = redis_url()
        if not url or self._redis is not None:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        # the prefix is escaped: a deployment named "a*" must not hear "ab"'s events
        pattern = _glob_escape(redis_key("account")) + ":*"
        self._redis_task = asyncio.get_running_loop().create_task(self._redis_reader(pattern))

    async def _redis_reader(self, pattern: str) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.psubscribe(pattern)
        async for item in pubsub.listen():
            if item.get("type") != "pmessage":
                continue
            try:
                event = json.loads(item["data"])
                self._deliver(int(event["account_id"]), event)
            except (ValueError, KeyError, TypeError):
                log.warning("dropped a malformed realtime event: %r", item.get("data"))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


broker = Broker()
