"""Contract fixtures: the app's typed client (``ctreflex.whatsapp``) against the simulator.

The simulator's Graph routes are reached in-process through ``httpx.ASGITransport`` (fast,
no sockets); its signed webhooks go over real HTTP to the session receiver of
``tests.simulator.conftest`` (uvicorn in a thread), so the bytes we verify and parse are the
bytes that crossed the wire.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ctreflex.simulator import create_simulator
from ctreflex.whatsapp import CloudAPIClient
from tests.simulator import conftest as _sim_conftest
from tests.simulator.conftest import (
    APP_SECRET,
    HARBOR_TOKEN,
    PNID,
    TOKEN,
    Receiver,
    fast_config,
    wait_for,
)

#: the session-wide real-HTTP webhook receiver (uvicorn in a thread), reused as a fixture
receiver = _sim_conftest.receiver

BASE = "http://sim"
DEMO_WABA = "100000000000001"
HARBOR_WABA = "100000000000002"
ORDERS_PNID = "200000000000002"  # NOT_VERIFIED, not registered
UK_PNID = "200000000000003"
HARBOR_PNID = "200000000000011"
PIN = "123456"

MARIA = "15550100142"
DEV = "15550100177"
OLIVER = "447700900123"
EMMA = "12025550143"  # US region: marketing -> 131049
LIAM = "14165550123"  # Canada: marketing delivered

__all__ = [
    "APP_SECRET",
    "BASE",
    "DEMO_WABA",
    "DEV",
    "EMMA",
    "HARBOR_PNID",
    "HARBOR_TOKEN",
    "HARBOR_WABA",
    "LIAM",
    "MARIA",
    "OLIVER",
    "ORDERS_PNID",
    "PIN",
    "PNID",
    "TOKEN",
    "UK_PNID",
    "Receiver",
    "client_for",
    "control_for",
    "wait_for",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_for(sim: Any, token: str = TOKEN, **kw: Any) -> CloudAPIClient:
    """The app's client, pointed at the simulator; no retries unless asked (fast errors)."""
    kw.setdefault("max_retries", 0)
    kw.setdefault("retry_wait_base", 0)
    return CloudAPIClient(token, base_url=BASE, transport=httpx.ASGITransport(app=sim.app), **kw)


def control_for(sim: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE)


@pytest.fixture
async def sim(receiver: Receiver) -> AsyncIterator[Any]:
    """A simulator whose webhooks go to the real-HTTP receiver (fast timers)."""
    receiver.requests.clear()
    receiver.status = 200
    s = create_simulator(fast_config(receiver))
    await s.start()
    yield s
    # Drain before stopping: a delivery cut off mid-request by stop() would reach the shared
    # receiver as an empty POST and be recorded by the *next* test.
    s.dispatcher.clear_timers()
    with contextlib.suppress(AssertionError):
        await wait_for(lambda: not s.dispatcher.pending(), timeout=3)
    await s.stop()


@pytest.fixture
async def quiet_sim() -> AsyncIterator[Any]:
    """A simulator that sends no webhooks (for synchronous contracts)."""
    s = create_simulator(fast_config(None))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def wa(sim: Any) -> AsyncIterator[CloudAPIClient]:
    async with client_for(sim) as c:
        yield c


@pytest.fixture
async def ctl(sim: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with control_for(sim) as c:
        yield c


async def customer_says(ctl: httpx.AsyncClient, wa_id: str, **body: Any) -> dict[str, Any]:
    """A simulated customer sends a message (control API); returns ``{wamid, ...}``."""
    body.setdefault("type", "text")
    if body["type"] == "text":
        body.setdefault("text", "Hello, are you open today?")
    r = await ctl.post(f"/control/customers/{wa_id}/messages", json=body)
    assert r.status_code == 200, r.text
    return r.json()
