"""Live latency: signed inbound webhook POST -> its text visible in every one of N open inbox
pages of the account (Chromium, served app in production mode, one worker).

    .venv/bin/python -m bench.live                    # 10 pages, 100 messages
    .venv/bin/python -m bench.live --pages 10 --messages 100 --keep

What it does: a fresh seeded SQLite database in a temp dir (as tests/e2e/conftest.py does),
`reflex run --env prod --single-port` (built frontend, websocket and routes on one port), N
Chromium pages in separate browser contexts signed in as Demo Bakery users (alternately
admin@demo.test and agent@demo.test) on /inbox. Then, one message at a time: arm a wait for
the marker text on every page, take the time, POST the signed webhook (a text from the seeded
customer Maria Lopez to the Demo Bakery number, its timestamp = now so it becomes the list
preview), and record, per
page, the page's own clock at the first animation frame that has the text (the frame that
paints it). Per message: the time until the LAST page shows it ("all pages") and each page's
own time. The default probe (`--probe observe`) arms a MutationObserver on each page and reads
the page's text once per DOM change; `--probe raf` (the earlier probe) has Playwright read the
whole page's text on every frame of every page while waiting, which costs the 2 cores the app
and the browsers share. Also the processor's part:
webhookevent.processed_at - received_at. Prints p50/p95/max; asserts nothing.

Breakdown per stage (the app runs with CTREFLEX_LIVE_TRACE, ctreflex/livetrace.py: the
processor and the web worker append each stage's epoch time to a file; all clocks are this
machine's): POST -> 200 (bench), POST -> journal (webhookevent.received_at), journal ->
processed commit (the processor's "commit" line), commit -> publish (the web worker hands the
event to its tabs), publish -> the tab's handler starts, handler -> its delta emitted, and
delta -> text visible (the page's own clock when its wait first sees the text; each page is
matched to its tab's line by the tab token in its sessionStorage). Per-tab stages are pooled
over tabs and messages; "last tab" is the tab the message reached last. Also counted, load
free: websocket frames and bytes each page received per message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import assign_events
from bench.ingest import APP_SECRET, PHONE_NUMBER_ID, free_port, machine, stop_group
from bench.procinfo import browser_cpu_by_kind, group_cpu_seconds, load
from ctreflex.whatsapp import sign
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import app_env, prepare_database, start_app, wait_ready

USERS = [("admin@demo.test", "demo-admin-1"), ("agent@demo.test", "demo-agent-1")]
MARIA = ("12125550142", "Maria Lopez")


def webhook_body(text: str) -> bytes:
    wa_id, name = MARIA
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100100",
                         "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": f"wamid.LIVE{uuid.uuid4().hex}",
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}],
        }}]}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return values[k]


async def login(page, base_url: str, email: str, password: str) -> None:
    await page.goto(base_url + "/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/inbox**", timeout=60_000)
    # a row's accessible name starts with the customer's name (tests/e2e conversation_name)
    await page.get_by_role("link", name=re.compile(r"^Maria Lopez\b")).first.wait_for(
        timeout=60_000
    )


# the page's clock when the text is first seen (truthy), false until then
VISIBLE_JS = ("m => document.body && document.body.textContent.includes(m)"
              " && performance.timeOrigin + performance.now()")

# The same moment without polling: the first animation frame after a DOM change that put the
# text in the page (the frame that paints it), on the page's clock. The "raf" probe reads the
# whole page's text on every frame of every page while it waits (10 pages x 60 frames/s on the
# 2 cores the app and the browsers share); this one reads it once per DOM change.
OBSERVE_JS = """m => new Promise(resolve => {
  const has = () => document.body && document.body.textContent.includes(m);
  const now = () => performance.timeOrigin + performance.now();
  const done = () => requestAnimationFrame(() => resolve(now()));
  if (has()) { done(); return; }
  const obs = new MutationObserver(() => { if (has()) { obs.disconnect(); done(); } });
  obs.observe(document.body, {childList: true, subtree: true, characterData: true});
})"""


async def one_message(pages, client: httpx.AsyncClient, marker: str, timeout_ms: int,
                      shown: list[float] | None = None, posted: list[float] | None = None,
                      probe: str = "observe", trip: list[float] | None = None):
    page_clock: list[float] = [0.0] * len(pages)
    returned: list[float] = [0.0] * len(pages)  # this process's clock when the answer came

    async def wait(i, page):
        if probe == "raf":
            handle = await page.wait_for_function(VISIBLE_JS, arg=marker, polling="raf",
                                                  timeout=timeout_ms)
            page_clock[i] = await handle.json_value()
        else:
            page_clock[i] = await asyncio.wait_for(page.evaluate(OBSERVE_JS, marker),
                                                   timeout_ms / 1000)
        returned[i] = time.time()

    tasks = [asyncio.ensure_future(wait(i, p)) for i, p in enumerate(pages)]
    await asyncio.sleep(0.02)  # the waits are armed
    raw = webhook_body(marker)
    posted_at = time.time()
    if posted is not None:
        posted.append(posted_at)
    t0 = time.perf_counter()
    r = await client.post("/webhooks/whatsapp", content=raw, headers={
        "X-Hub-Signature-256": sign(APP_SECRET, raw), "Content-Type": "application/json"})
    t_200 = time.perf_counter() - t0
    r.raise_for_status()
    await asyncio.gather(*tasks)
    if shown is not None:  # each page's own clock (s) when it first saw the text
        shown.extend([c / 1000 for c in page_clock])
    if trip is not None:  # the answer's way back; never negative if the clocks agree
        trip.extend(r - c / 1000 for r, c in zip(returned, page_clock, strict=True))
    # "all pages" on the pages' own clocks (this machine's): the bench's side of the
    # protocol (the answer's trip back through Playwright) is not counted
    return t_200, [c / 1000 - posted_at for c in page_clock], r.json()["event_id"]


class Frames:
    """Websocket frames (and their bytes) a page receives: what each message cost it."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def attach(self, page) -> None:
        def on_ws(ws) -> None:
            ws.on("framereceived", self._frame)

        page.on("websocket", on_ws)

    def _frame(self, payload) -> None:
        self.count += 1
        self.bytes += len(payload)


def stage_times(trace_path: Path, db_path: Path, markers: list[str], event_ids: list[int],
                posted: list[float], shown: list[list[float]], tokens: list[str]) -> dict:
    """Per stage, the times in ms (per message, or per tab and message)."""
    from ctreflex import livetrace

    lines = livetrace.read(str(trace_path)) if trace_path.exists() else []
    with contextlib.closing(sqlite3.connect(db_path)) as c:
        qs = ",".join("?" * len(event_ids))
        received = dict(c.execute(
            "SELECT id, (julianday(received_at) - 2440587.5) * 86400.0 FROM webhookevent "
            f"WHERE id IN ({qs})", event_ids).fetchall())
        bodies = dict(c.execute("SELECT body, id FROM message WHERE body LIKE 'Live %'")
                      .fetchall())
    firsts: dict[tuple, float] = {}  # (stage, message id, tab) -> first time
    for line in lines:
        for mid in line.get("m", []):
            key = (line["s"], mid, line.get("tab", ""))
            firsts.setdefault(key, line["t"])
    out: dict[str, list[float]] = {k: [] for k in (
        "POST -> journal", "journal -> processed commit", "commit -> publish",
        "publish -> tab handler", "tab handler -> delta emitted",
        "  handler -> planned (1st lock)", "  planned -> list computed (shared)",
        "  computed -> delta emitted (2nd lock)", "delta emitted -> visible",
        "publish -> last tab's delta emitted", "last delta emitted -> visible in all")}
    ms = 1000
    for n, marker in enumerate(markers):
        mid = bodies.get(marker)
        commit = firsts.get(("commit", mid, ""))
        publish = firsts.get(("publish", mid, ""))
        rec = received.get(event_ids[n])
        if rec is not None:
            out["POST -> journal"].append((rec - posted[n]) * ms)
            if commit is not None:
                out["journal -> processed commit"].append((commit - rec) * ms)
        if commit is not None and publish is not None:
            out["commit -> publish"].append((publish - commit) * ms)
        emitted_all = []
        for i, tok in enumerate(tokens):
            handler = firsts.get(("handler", mid, tok[:8]))
            emitted = firsts.get(("emitted", mid, tok[:8]))
            if publish is not None and handler is not None:
                out["publish -> tab handler"].append((handler - publish) * ms)
            if handler is not None and emitted is not None:
                out["tab handler -> delta emitted"].append((emitted - handler) * ms)
            planned = firsts.get(("planned", mid, tok[:8]))
            computed = firsts.get(("computed", mid, tok[:8]))
            if None not in (handler, planned, computed, emitted):
                out["  handler -> planned (1st lock)"].append((planned - handler) * ms)
                out["  planned -> list computed (shared)"].append((computed - planned) * ms)
                out["  computed -> delta emitted (2nd lock)"].append((emitted - computed) * ms)
            if emitted is not None:
                emitted_all.append(emitted)
                out["delta emitted -> visible"].append((shown[n][i] - emitted) * ms)
        if publish is not None and len(emitted_all) == len(tokens):
            out["publish -> last tab's delta emitted"].append((max(emitted_all) - publish) * ms)
            out["last delta emitted -> visible in all"].append(
                (max(shown[n]) - max(emitted_all)) * ms)
    return out


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    data = Path(tempfile.mkdtemp(prefix="ctreflex-live-"))
    port = free_port()
    trace = data / "live-trace.jsonl"
    env = app_env(data, port, CTREFLEX_LIVE_TRACE=str(trace), **assign_events.RATE_ENV)
    prepare_database(env)
    assign_key, assign_convs, assign_users = assign_events.prepare(env)
    log = data / "app.log"
    proc = start_app(env, port, log)
    url = f"http://127.0.0.1:{port}"
    out: dict = {"machine": machine(), "pages": args.pages, "messages": args.messages}
    try:
        await asyncio.to_thread(wait_ready, proc, url, log)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages, frames, tokens = [], [], []
            for i in range(args.pages):
                ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
                page = await ctx.new_page()
                f = Frames()
                f.attach(page)
                email, password = USERS[i % len(USERS)]
                await login(page, url, email, password)
                pages.append(page)
                frames.append(f)
                tokens.append(await page.evaluate("sessionStorage.getItem('token') || ''"))
            emitter = assign_events.Emitter(url, assign_key, assign_convs, assign_users,
                                            args.assign_rate)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                for n in range(args.warmup):  # listeners started (heartbeat), caches warm
                    await one_message(pages, client, f"Warm-up {n} {uuid.uuid4().hex[:8]}",
                                      60_000, probe=args.probe)
                emitter.start()  # assignment events flow while the messages are timed
                load0 = load()
                cpu0 = group_cpu_seconds(proc.pid)  # the app: web worker + processor child
                browser0 = browser_cpu_by_kind()
                all_pages, per_page, to_200, event_ids = [], [], [], []
                markers, posted, shown, per_msg_frames, per_msg_bytes = [], [], [], [], []
                trips: list[float] = []
                for n in range(args.messages):
                    marker = f"Live {n:03d} {uuid.uuid4().hex[:10]}"
                    f0 = [(f.count, f.bytes) for f in frames]
                    seen_at: list[float] = []
                    t200, seen, event_id = await one_message(pages, client, marker, 30_000,
                                                             seen_at, posted, args.probe, trips)
                    await asyncio.sleep(args.gap)  # what the message still sends lands here
                    per_msg_frames.extend(f.count - c for f, (c, _) in zip(frames, f0, strict=True))
                    per_msg_bytes.extend(f.bytes - b for f, (_, b) in zip(frames, f0, strict=True))
                    markers.append(marker)
                    shown.append(seen_at)
                    to_200.append(t200)
                    all_pages.append(max(seen))
                    per_page.extend(seen)
                    event_ids.append(event_id)
                load1 = load()
                app_cpu = group_cpu_seconds(proc.pid) - cpu0
                browser1 = browser_cpu_by_kind()
                by_kind = {k: v - browser0.get(k, 0.0) for k, v in browser1.items()}
                browser_cpu = sum(by_kind.values())
                await emitter.stop()
                out["assignments"] = {"sent": emitter.sent, "errors": emitter.errors,
                                      "rate": args.assign_rate}
            await browser.close()
        with contextlib.closing(sqlite3.connect(data / "e2e.db")) as c:
            qs = ",".join("?" * len(event_ids))
            rows = c.execute(
                "SELECT (julianday(processed_at) - julianday(received_at)) * 86400000 "
                f"FROM webhookevent WHERE id IN ({qs})", event_ids).fetchall()
        processing = [r[0] for r in rows if r[0] is not None]
        stages = stage_times(trace, data / "e2e.db", markers, event_ids, posted, shown, tokens)
    finally:
        stop_group(proc)
    ms = 1000
    out.update({
        "load_before": load0, "load_after": load1,
        "all_pages_ms": {"p50": pct(all_pages, 50) * ms, "p95": pct(all_pages, 95) * ms,
                         "max": max(all_pages) * ms, "mean": statistics.mean(all_pages) * ms},
        "per_page_ms": {"p50": pct(per_page, 50) * ms, "p95": pct(per_page, 95) * ms},
        "to_200_ms": {"p50": pct(to_200, 50) * ms, "p95": pct(to_200, 95) * ms},
        "probe_return_ms": {"min": min(trips) * ms, "p50": pct(trips, 50) * ms,
                            "p95": pct(trips, 95) * ms},
        "processing_ms": {"p50": pct(processing, 50), "p95": pct(processing, 95)},
        "stages_ms": {name: {"p50": pct(v, 50), "p95": pct(v, 95), "n": len(v)}
                      for name, v in stages.items()},
        "app_cpu_ms_per_message": app_cpu / args.messages * ms,
        "browser_cpu_ms_per_message": browser_cpu / args.messages * ms,
        "browser_cpu_ms_per_message_by_kind": {
            k: v / args.messages * ms for k, v in sorted(by_kind.items()) if v > 0},
        "probe": args.probe,
        "frames_per_page_per_message": statistics.mean(per_msg_frames),
        "bytes_per_page_per_message": statistics.mean(per_msg_bytes),
        "data": str(data),
    })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.05, help="seconds between messages")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--probe", choices=("observe", "raf"), default="observe",
                    help="how a page notices the text: a MutationObserver and the next frame "
                         "(default), or Playwright polling the page's text every frame")
    ap.add_argument("--assign-rate", type=float, default=0.0,
                    help="assignments per second via /api/v1 while messages are timed")
    args = ap.parse_args()
    r = asyncio.run(run(args))
    m = r["machine"]
    print(f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram']} RAM, Python {m['python']}")
    print(f"load average before/after: {' '.join(r['load_before'])} / {' '.join(r['load_after'])}")
    print(f"{r['pages']} Chromium pages on /inbox, {r['messages']} messages, one at a time")
    a, p, t, q = r["all_pages_ms"], r["per_page_ms"], r["to_200_ms"], r["processing_ms"]
    print(f"POST -> visible in ALL pages: p50 {a['p50']:.1f} ms, p95 {a['p95']:.1f} ms, "
          f"max {a['max']:.1f} ms")
    print(f"POST -> visible, per page:    p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms")
    print(f"POST -> 200:                  p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms")
    b = r["probe_return_ms"]  # a check of the clocks: a page's clock ahead would show < 0
    print(f"text seen -> the bench has it: min {b['min']:.1f} ms, p50 {b['p50']:.1f} ms, "
          f"p95 {b['p95']:.1f} ms (not counted above)")
    print(f"journal -> processed (DB):    p50 {q['p50']:.1f} ms, p95 {q['p95']:.1f} ms")
    print("stages (server clocks; per tab pooled over tabs x messages):")
    for name, v in r["stages_ms"].items():
        print(f"  {name:<38} p50 {v['p50']:7.1f} ms, p95 {v['p95']:7.1f} ms  (n={v['n']})")
    print(f"app CPU (web worker + processor) per message: "
          f"{r['app_cpu_ms_per_message']:.1f} ms (load free: what a message costs the server)")
    print(f"browsers' CPU (all {r['pages']} pages, probe {r['probe']}) per message: "
          f"{r['browser_cpu_ms_per_message']:.1f} ms")
    kinds = r["browser_cpu_ms_per_message_by_kind"]
    print("  by process: " + ", ".join(f"{k} {v:.1f} ms" for k, v in kinds.items()))
    cores = r["machine"]["nproc"] or 1
    floor = (r["app_cpu_ms_per_message"] + r["browser_cpu_ms_per_message"]) / cores
    # the machine's time per message; not a strict bound on the latency: a page's paint of the
    # frame with the text comes after the probe's moment (the animation frame before it)
    print(f"  machine time per message ((app + browsers' CPU) / {cores} cores): {floor:.0f} ms")
    print(f"websocket per page per message: {r['frames_per_page_per_message']:.2f} frames, "
          f"{r['bytes_per_page_per_message']:.0f} bytes")
    if "assignments" in r:
        g = r["assignments"]
        print(f"assignment events meanwhile (/api/v1 assign, {g['rate']}/s): {g['sent']} sent, "
              f"{g['errors']} errors")
    print(f"target p95 <= 60 ms to all pages (issue 17): {'met' if a['p95'] <= 60 else 'MISSED'}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
