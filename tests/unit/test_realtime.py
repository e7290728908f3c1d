"""The live-update broker: per account, never across accounts; across workers through Redis.

The Redis tests use the local Redis (127.0.0.1:6379) that the scale-out setup uses; each
Broker instance stands for one web worker (or the processor child) of a deployment.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ctreflex.realtime import Broker

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


async def _drain(sub, timeout: float) -> list[dict]:
    events: list[dict] = []
    while True:
        batch = await sub.next_batch(timeout)
        if not batch:
            return events
        events.extend(batch)
        timeout = 0.2


def test_an_event_reaches_its_accounts_subscribers_only(monkeypatch):
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)

    async def scenario():
        broker = Broker()
        async with broker.subscribe(1) as mine, broker.subscribe(1) as colleague, \
                broker.subscribe(2) as other:
            await broker.publish(1, {"type": "message", "conversation_id": 7})
            return await _drain(mine, 1), await _drain(colleague, 1), await _drain(other, 0.3)

    mine, colleague, other = asyncio.run(scenario())
    assert mine == colleague == [{"type": "message", "conversation_id": 7, "account_id": 1}]
    assert other == []


def test_a_relay_takes_every_event_instead_of_the_local_subscribers(monkeypatch):
    """The processor child's broker: events go to its web worker, not to local tabs."""
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)
    relayed: list[tuple[int, dict]] = []

    async def scenario():
        broker = Broker()
        broker.set_relay(lambda account_id, event: relayed.append((account_id, event)))
        async with broker.subscribe(3) as local:
            await broker.publish(3, {"type": "status", "message_id": 9})
            return await _drain(local, 0.3)

    assert asyncio.run(scenario()) == []
    assert relayed == [(3, {"type": "status", "message_id": 9, "account_id": 3})]


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_a_worker_without_tabs_still_reaches_the_other_workers_tabs(monkeypatch):
    """Worker A has no tab open (it never subscribed); a webhook it processes must still reach
    the account's tabs on worker B, and no other account's."""
    monkeypatch.setenv("CTREFLEX_REDIS_URL", REDIS_URL)
    account = 900_000 + uuid.uuid4().int % 100_000  # no clash with another run on this Redis

    async def scenario():
        worker_a, worker_b = Broker(), Broker()
        async with worker_b.subscribe(account) as tab, \
                worker_b.subscribe(account + 1) as other_account:
            await asyncio.sleep(0.3)  # worker B's Redis subscription is in place
            await worker_a.publish(account, {"type": "message", "conversation_id": 5})
            got = await _drain(tab, 3)
            leaked = await _drain(other_account, 0.3)
        for broker in (worker_a, worker_b):
            if broker._redis_task is not None:
                broker._redis_task.cancel()
            if broker._redis is not None:
                await broker._redis.aclose()
        return got, leaked

    got, leaked = asyncio.run(scenario())
    assert got == [{"type": "message", "conversation_id": 5, "account_id": account}]
    assert leaked == []


def test_live_events_have_the_wire_form_the_listeners_read():
    """The typed events travel as the same dicts the hand-built ones were (Redis, the processor
    child's pipe and the tabs' listeners read those), and read back from them."""
    from ctreflex.realtime import LiveEvent, LiveKind

    cases = [
        (LiveEvent.message(7, 70), {"type": "message", "conversation_id": 7, "message_id": 70}),
        (LiveEvent.status(7, 71), {"type": "status", "conversation_id": 7, "message_id": 71}),
        (LiveEvent.media(7, 5), {"type": "media", "conversation_id": 7, "media_id": 5}),
        (
            LiveEvent.conversation(7, reason="window_closed"),
            {"type": "conversation", "conversation_id": 7, "reason": "window_closed"},
        ),
        (LiveEvent.template(), {"type": "template", "template_id": None}),
        (LiveEvent.template(3), {"type": "template", "template_id": 3}),
    ]
    for event, wire in cases:
        assert event.to_wire() == wire
        assert LiveEvent.from_wire({**wire, "account_id": 1}) == event
    assert LiveEvent.message(7, 70).kind is LiveKind.MESSAGE
    with pytest.raises(ValueError):
        LiveEvent.from_wire({"type": "no such kind"})


def test_a_typed_event_reaches_the_subscribers_as_its_wire_dict(monkeypatch):
    from ctreflex.realtime import LiveEvent

    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)

    async def scenario():
        broker = Broker()
        async with broker.subscribe(4) as tab:
            await broker.publish(4, LiveEvent.message(8, 80))
            await broker.publish(4, {"type": "status", "conversation_id": 8, "message_id": 80})
            return await _drain(tab, 1)

    assert asyncio.run(scenario()) == [
        {"type": "message", "conversation_id": 8, "message_id": 80, "account_id": 4},
        {"type": "status", "conversation_id": 8, "message_id": 80, "account_id": 4},
    ]
