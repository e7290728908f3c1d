"""kill -9 of the app during a 1,000-message burst from the simulator (which retries
undelivered webhooks) loses nothing and duplicates nothing after restart."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT
from tests.e2e.conftest import (
    app_env,
    free_port,
    prepare_database,
    start_app,
    stop_group,
    wait_ready,
)

BURST = 1000
CUSTOMERS = [f"1212555{n:04d}" for n in range(100, 120)]


async def _burst(sim_url: str, n: int, start: int, wamids: list[str]) -> None:
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as client:

        async def one(i: int) -> None:
            async with sem:
                r = await client.post(
                    f"/control/customers/{CUSTOMERS[i % len(CUSTOMERS)]}/messages",
                    json={"type": "text", "text": f"burst {i}"},
                )
                r.raise_for_status()
                wamids.append(r.json()["wamid"])

        await asyncio.gather(*(one(i) for i in range(start, start + n)))


def _stored(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT provider_message_id FROM message WHERE body LIKE 'burst %'")
        ).all()
    engine.dispose()
    return [r[0] for r in rows]


@pytest.mark.slow
@pytest.mark.database  # its own database (app_env): SQLite, or PostgreSQL in that pass
def test_kill_9_during_a_burst_loses_and_duplicates_nothing(tmp_path):
    app_port, sim_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    env = app_env(tmp_path, app_port, CTREFLEX_GRAPH_BASE_URL=sim_url)
    prepare_database(env)
    sim_log = open(tmp_path / "sim.log", "wb")  # noqa: SIM115 - closed in finally
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctreflex.simulator",
            "--port",
            str(sim_port),
            "--webhook-url",
            f"http://127.0.0.1:{app_port}/webhooks/whatsapp",
            "--retry-schedule",
            "0.5,1,1,2,2,3,5,5,5,5,5,5,10,10,10",
        ],
        cwd=ROOT,
        stdout=sim_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log = tmp_path / "app.log"
    app = start_app(env, app_port, log, backend_only=True)
    try:
        wait_ready(app, f"http://127.0.0.1:{app_port}", log, paths=("/ping",))
        wait_ready(sim, sim_url, tmp_path / "sim.log", paths=("/control/seed",))
        wamids: list[str] = []
        burst = threading.Thread(target=lambda: asyncio.run(_burst(sim_url, BURST, 0, wamids)))
        burst.start()
        while len(wamids) < 300:
            time.sleep(0.01)
        stop_group(app, signal.SIGKILL)  # kill -9 mid-burst: deliveries in flight fail
        burst.join(timeout=120)
        app = start_app(env, app_port, log, backend_only=True)
        wait_ready(app, f"http://127.0.0.1:{app_port}", log, paths=("/ping",))
        deadline = time.monotonic() + 180
        while True:
            stored = _stored(env["CTREFLEX_DATABASE_URL"])
            if len(set(stored)) >= BURST or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert len(wamids) == BURST
        assert len(stored) == len(set(stored)), "a message was stored twice"
        assert set(stored) == set(wamids), f"{len(set(wamids) - set(stored))} messages lost"
    finally:
        stop_group(app)
        stop_group(sim)
        sim_log.close()
