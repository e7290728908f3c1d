"""Fixtures: a real local webhook receiver (uvicorn in a thread) and a fast simulator."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from ctreflex.simulator import SimulatorConfig, create_simulator

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TOKEN = "sim-token-demo-bakery"
HARBOR_TOKEN = "sim-token-harbor-tools"
PNID = "200000000000001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """Records every webhook POST; answers ``status``; implements the GET handshake."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/whatsapp"

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if scope["method"] == "GET":
            from urllib.parse import parse_qs

            q = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            ok = q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == VERIFY_TOKEN
            status, out = (200, q.get("hub.challenge", "").encode()) if ok else (403, b"no")
        else:
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            status = self.status
            self.requests.append({"headers": headers, "body": body, "status": status,
                                  "at": time.time()})
            out = b"ok"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": out})

    # ---- helpers -------------------------------------------------------------------------
    def accepted(self) -> list[dict[str, Any]]:
        """Parsed bodies of the deliveries answered 2xx (signature checked)."""
        out = []
        for r in self.requests:
            if 200 <= r["status"] < 300:
                assert_signed(r)
                out.append(json.loads(r["body"]))
        return out

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        out = []
        for body in self.accepted():
            for entry in body["entry"]:
                for change in entry["changes"]:
                    for st in change["value"].get("statuses", []):
                        if wamid is None or st["id"] == wamid:
                            out.append(st)
        return out

    def messages(self) -> list[dict[str, Any]]:
        out = []
        for body in self.accepted():
            for entry in body["entry"]:
                for change in entry["changes"]:
                    out.extend(change["value"].get("messages", []))
        return out

    def changes(self, field: str) -> list[dict[str, Any]]:
        return [c for body in self.accepted() for e in body["entry"] for c in e["changes"]
                if c["field"] == field]


def assert_signed(req: dict[str, Any]) -> None:
    headers, body = req["headers"], req["body"]
    assert headers["content-type"] == "application/json"
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-hub-signature-256"], expected)
    body.decode("ascii")  # ensure_ascii=True serialisation


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = uvicorn.Server(uvicorn.Config(rec, host="127.0.0.1", port=rec.port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    yield rec
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fast_config(receiver: Receiver | None, **kw: Any) -> SimulatorConfig:
    base = dict(
        webhook_url=receiver.url if receiver else None,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        public_base_url="http://sim",
        sent_delay=0.01,
        auto_deliver=0.03,
        auto_read=None,
        retry_schedule=(0.05, 0.1, 0.2),
    )
    base.update(kw)
    return SimulatorConfig(**base)


@pytest.fixture
async def sim(receiver: Receiver) -> AsyncIterator[Any]:
    receiver.requests.clear()
    receiver.status = 200
    s = create_simulator(fast_config(receiver))
    await s.start()
    yield s
    # Let deliveries in flight finish, so none is cut off into the next test's receiver.
    deadline = time.time() + 3
    while s.dispatcher.pending() and time.time() < deadline:
        await asyncio.sleep(0.02)
    await s.stop()


@pytest.fixture
async def client(sim: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim") as c:
        yield c


async def wait_for(pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def served(receiver: Receiver) -> Iterator[str]:
    """The simulator served over real HTTP by uvicorn in a thread; yields its base URL."""
    receiver.requests.clear()
    receiver.status = 200
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = create_simulator(fast_config(receiver, public_base_url=base))
    server = uvicorn.Server(uvicorn.Config(sim.app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(timeout=5)
