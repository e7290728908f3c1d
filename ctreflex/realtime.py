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

Every event is a :class:`LiveEvent` (one kind, the ids it is about), built with its named
constructor (``LiveEvent.message(conversation_id, message_id)``…). On the wire (to the tabs'
listeners, through Redis, over the processor child's pipe) it is the plain dict
``{"type": <kind>, <the kind's fields>, "account_id": …}``; ``LiveEvent.from_wire`` reads one
back. ``publish`` still takes such a dict as is (the inbound pipeline's publishers build them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ctreflex import livetrace
from ctreflex.settings import get_settings

log = logging.getLogger("ctreflex.realtime")

_MAX_QUEUE = 1000
COALESCE_S = 0.005  # a burst's events are taken together while they keep coming, this long


class LiveKind(StrEnum):
    """What changed; the listeners reload accordingly."""

    MESSAGE = "message"  # a message was added or changed (inbound, sent, reaction, send result)
    STATUS = "status"  # a sent message's delivery status moved
    MEDIA = "media"  # an inbound file finished downloading
    CONVERSATION = "conversation"  # a conversation changed without a message (window closed)
    TEMPLATE = "template"  # a template's review status changed, or a sync changed several
    REMINDER = "reminder"  # a conversation's window closes in an hour: its assignee is told


#: The fields each kind carries on the wire, in order (None values included).
_WIRE_FIELDS: dict[LiveKind, tuple[str, ...]] = {
    LiveKind.MESSAGE: ("conversation_id", "message_id"),
    LiveKind.STATUS: ("conversation_id", "message_id"),
    LiveKind.MEDIA: ("conversation_id", "media_id"),
    LiveKind.CONVERSATION: ("conversation_id", "reason"),
    LiveKind.TEMPLATE: ("template_id",),
    LiveKind.REMINDER: ("conversation_id", "user_id"),
}


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One live update for an account's open tabs (the account is the broker's argument)."""

    kind: LiveKind
    conversation_id: int | None = None
    message_id: int | None = None
    media_id: int | None = None
    template_id: int | None = None
    reason: str | None = None
    user_id: int | None = None

    @classmethod
    def message(cls, conversation_id: int, message_id: int) -> LiveEvent:
        return cls(LiveKind.MESSAGE, conversation_id=conversation_id, message_id=message_id)

    @classmethod
    def status(cls, conversation_id: int, message_id: int) -> LiveEvent:
        return cls(LiveKind.STATUS, conversation_id=conversation_id, message_id=message_id)

    @classmethod
    def media(cls, conversation_id: int, media_id: int) -> LiveEvent:
        return cls(LiveKind.MEDIA, conversation_id=conversation_id, media_id=media_id)

    @classmethod
    def conversation(cls, conversation_id: int, reason: str) -> LiveEvent:
        return cls(LiveKind.CONVERSATION, conversation_id=conversation_id, reason=reason)

    @classmethod
    def template(cls, template_id: int | None = None) -> LiveEvent:
        """``template_id`` None: several templates changed (a sync)."""
        return cls(LiveKind.TEMPLATE, template_id=template_id)

    @classmethod
    def reminder(cls, conversation_id: int, user_id: int) -> LiveEvent:
        return cls(LiveKind.REMINDER, conversation_id=conversation_id, user_id=user_id)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.kind.value,
            **{name: getattr(self, name) for name in _WIRE_FIELDS[self.kind]},
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> LiveEvent:
        """The event a wire dict holds (``account_id`` and unknown keys ignored); ValueError
        for an unknown kind."""
        kind = LiveKind(data.get("type"))
        return cls(kind, **{name: data.get(name) for name in _WIRE_FIELDS[kind]})


def to_wire(event: LiveEvent | Mapping[str, Any]) -> dict[str, Any]:
    """The wire dict of an event; a dict built by hand passes as it is (a copy)."""
    return event.to_wire() if isinstance(event, LiveEvent) else dict(event)


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
        # a burst published over a few ticks (a processing batch relayed line by line, Redis
        # messages read one by one) is taken whole, one update for the tab instead of one per
        # event: wait while the queue still grows from one tick to the next, COALESCE_S at most
        loop = asyncio.get_running_loop()
        settle_by = loop.time() + COALESCE_S
        size = -1
        while self._queue.qsize() != size and loop.time() < settle_by:
            size = self._queue.qsize()
            await asyncio.sleep(0)
        batch = [first]
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch


def redis_url() -> str | None:
    return os.environ.get("REFLEX_REDIS_URL") or os.environ.get("CTREFLEX_REDIS_URL") or None


def redis_key(*parts: object) -> str:
    """A Redis channel or key name under this deployment's prefix: redis_key("account", 7) is
    `ctreflex:<db>:account:7` by default."""
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

    async def publish(self, account_id: int, event: LiveEvent | Mapping[str, Any]) -> None:
        event = {**to_wire(event), "account_id": account_id}
        if self._relay is not None:
            self._relay(account_id, event)
            return
        if livetrace.enabled() and event.get("message_id"):
            livetrace.mark("publish", m=[event["message_id"]])
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

    def publish_threadsafe(self, account_id: int, event: LiveEvent | Mapping[str, Any]) -> None:
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
        import redis.asyncio as aioredis  # only when scaled out: one process never loads it

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
