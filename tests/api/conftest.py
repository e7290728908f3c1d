"""The app's API routes and the in-process simulator served for real (uvicorn in a thread),
with the webhook processor running, on a fresh seeded database.

The processor runs inline (a thread of the server, CTREFLEX_PROCESSOR=inline): what these tests
check is the route, the journal and the processing, not the child process, and the inline
processor halves their time. A test about the child itself says so with
`@pytest.mark.processor_child` (the child's own tests: tests/unit/test_processor_child.py,
tests/e2e/test_durability.py and tests/scale/, which start the real processes)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveAPI:
    def __init__(self, url: str, loop: asyncio.AbstractEventLoop):
        self.url = url
        self.loop = loop
        self.http = httpx.Client(base_url=url, timeout=10)

    def run(self, coro, timeout: float = 30):
        """Run a coroutine on the server's event loop (where the broker and clients live)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def control(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, "/simulator/control" + path, **kwargs)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@pytest.fixture
def live_api(seeded, monkeypatch, tmp_path, request):
    from ctreflex import lifespan
    from ctreflex.api import build_api
    from ctreflex.settings import reset_settings_cache

    child = request.node.get_closest_marker("processor_child") is not None
    monkeypatch.setenv("CTREFLEX_PROCESSOR", "process" if child else "inline")
    port = free_port()
    monkeypatch.setenv("CTREFLEX_PORT", str(port))
    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CTREFLEX_SIMULATOR_STATE_PATH", "")
    reset_settings_cache()

    @contextlib.asynccontextmanager
    async def life(_app):
        async with lifespan.webhook_processor():
            yield

    app = Starlette(routes=[Mount("/", app=build_api())], lifespan=life)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    loop_box: dict = {}

    def serve():
        loop = asyncio.new_event_loop()
        loop_box["loop"] = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20)
    yield LiveAPI(f"http://127.0.0.1:{port}", loop_box["loop"])
    server.should_exit = True
    thread.join(timeout=10)
    reset_settings_cache()
