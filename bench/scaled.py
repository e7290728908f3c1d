"""Ingest and live latency with 1 and with 3 workers on PostgreSQL + Redis (`make run-scaled`).

    .venv/bin/python -m bench.scaled                       # 1 and 3 workers, 2000 webhooks, 5 pages
    .venv/bin/python -m bench.scaled --workers 3 --webhooks 4000 --json out.json

Per worker count: a fresh PostgreSQL database (dropped afterwards) and Redis prefix,
`python -m ctreflex.scaled` (the simulators in their own process, granian's respawn on), then
1. ingest: N signed webhooks (bench/ingest.py's bodies: texts from a handful of customers to the
   Demo Bakery number) POSTed by an httpx client at concurrency C, each on any worker; figures:
   accepted per second (all 200s), persisted per second (until the last message row is
   committed, by the one elected processor), the 200's p50/p99;
2. live: P Chromium pages signed in on /inbox (their websockets spread over the workers), then
   M messages one at a time (bench/live.py's `one_message`): POST -> visible in every page.
Prints a table and the machine's load average before and after; asserts nothing. It builds the
frontend: run it under `flock /tmp/e2e.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.ingest import APP_SECRET, body, machine
from bench.live import login, one_message, pct
from bench.procinfo import load
from ctreflex.whatsapp import sign

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("CTREFLEX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CTREFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workers: int, data: Path):
    name = f"ctreflex_bench_{uuid.uuid4().hex[:8]}"
    db_url = PG.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    env = {**os.environ,
           "PATH": f"{ROOT / '.venv' / 'bin'}:{ROOT / '.tools' / 'node_modules' / '.bin'}:"
                   f"{os.environ.get('PATH', '')}",
           "REFLEX_USE_SYSTEM_BUN": "1", "REFLEX_TELEMETRY_ENABLED": "false",
           "REFLEX_CHECK_LATEST_VERSION": "false", "REFLEX_DIR": str(ROOT / ".reflex"),
           "CTREFLEX_DATABASE_URL": db_url, "REFLEX_REDIS_URL": REDIS,
           "CTREFLEX_REDIS_PREFIX": f"bench:{name}", "WORKERS": str(workers),
           "CTREFLEX_PORT": str(port), "SIM_PORT": str(free_port()),
           "CTREFLEX_MEDIA_DIR": str(data / "media"),
           "CTREFLEX_SIMULATOR_STATE_PATH": str(data / "simulator.json"),
           "CTREFLEX_SECRET_KEY_FILE": str(data / "secret_key")}
    log = open(data / f"app-{workers}.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "ctreflex.scaled"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited; see {data}")
        try:
            if (httpx.get(url + "/readyz", timeout=3).status_code == 200
                    and httpx.get(url + "/login/", timeout=3).status_code == 200):
                return proc, url, db_url, name
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the app did not start")


def stop(proc, name: str) -> None:
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def ingest(url: str, db_url: str, n: int, concurrency: int) -> dict:
    run = uuid.uuid4().hex[:6]
    bodies = [body(i, run) for i in range(n)]
    signed = [(b, sign(APP_SECRET, b)) for b in bodies]
    engine = create_engine(db_url)

    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM message WHERE provider_message_id "
                                     "LIKE :p"), {"p": f"wamid.BENCH{run}%"}).scalar_one()

    latencies: list[float] = []
    queue = list(reversed(signed))
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker():
            while queue:
                raw, sig = queue.pop()
                t = time.perf_counter()
                r = await client.post("/webhooks/whatsapp", content=raw, headers={
                    "X-Hub-Signature-256": sig, "Content-Type": "application/json"})
                r.raise_for_status()
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        accepted = time.perf_counter() - t0
    while await asyncio.to_thread(count) < n:
        await asyncio.sleep(0.05)
        if time.perf_counter() - t0 > 300:
            break
    persisted = time.perf_counter() - t0
    engine.dispose()
    return {"webhooks": n, "concurrency": concurrency,
            "accepted_per_s": round(n / accepted), "persisted_per_s": round(n / persisted),
            "p50_200_ms": round(pct(latencies, 50) * 1000, 1),
            "p99_200_ms": round(pct(latencies, 99) * 1000, 1)}


async def live(url: str, pages_n: int, messages: int) -> dict:
    from playwright.async_api import async_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for i in range(pages_n):
            ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await ctx.new_page()
            who = ("admin@demo.test", "demo-admin-1") if i % 2 else ("agent@demo.test",
                                                                      "demo-agent-1")
            await login(page, url, *who)
            pages.append(page)
        all_pages = []
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for n in range(3):
                await one_message(pages, client, f"Warm-up {n} {uuid.uuid4().hex[:8]}", 60_000)
            for n in range(messages):
                _, seen, _ = await one_message(pages, client,
                                               f"Live {n:03d} {uuid.uuid4().hex[:10]}", 30_000)
                all_pages.append(max(seen))
                await asyncio.sleep(0.05)
        await browser.close()
    return {"pages": pages_n, "messages": messages,
            "all_pages_p50_ms": round(pct(all_pages, 50) * 1000, 1),
            "all_pages_p95_ms": round(pct(all_pages, 95) * 1000, 1),
            "all_pages_mean_ms": round(statistics.mean(all_pages) * 1000, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 3])
    ap.add_argument("--webhooks", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--messages", type=int, default=30)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    results = {"machine": machine(), "runs": []}
    for workers in args.workers:
        data = Path(tempfile.mkdtemp(prefix=f"ctreflex-scaled-{workers}-"))
        proc, url, db_url, name = start(workers, data)
        try:
            before = load()
            found = {"workers": workers, "load_before": before}
            found["ingest"] = asyncio.run(ingest(url, db_url, args.webhooks, args.concurrency))
            found["live"] = asyncio.run(live(url, args.pages, args.messages))
            found["load_after"] = load()
        finally:
            stop(proc, name)
        results["runs"].append(found)
        print(json.dumps(found), flush=True)
    print("\nworkers | accepted/s | persisted/s | 200 p50/p99 ms | live p50/p95 ms | load")
    for r in results["runs"]:
        i, lv = r["ingest"], r["live"]
        print(f"{r['workers']:>7} | {i['accepted_per_s']:>10} | {i['persisted_per_s']:>11} | "
              f"{i['p50_200_ms']}/{i['p99_200_ms']} | {lv['all_pages_p50_ms']}/"
              f"{lv['all_pages_p95_ms']} | {' '.join(r['load_before'])} -> "
              f"{' '.join(r['load_after'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
