"""Ingest benchmark: signed WhatsApp webhooks against the served app (prod mode, one worker).

Prints figures and ratios; it is not a test and asserts nothing. See bench/README.md.

    .venv/bin/python -m bench.ingest                 # 10 s at concurrency 64
    .venv/bin/python -m bench.ingest --profile out   # also py-spy the worker during the run

What it does: a fresh SQLite database in a temp dir (`alembic upgrade head`, `ctreflex.cli
seed`), `reflex run --env prod --backend-only` with CTREFLEX_LANE_PLUGIN=bench.bare (which
adds bench/bare.py's `POST /bench/bare`, a route in the same process, on the same lane as the
webhook, that only reads the body), then `wrk` (a
separate process, loopback only, bounded by the number of pre-signed bodies and by -d) runs
twice: against /bench/bare, then against /webhooks/whatsapp with unique wamids from a handful
of customers to the seeded Demo Bakery number. Messages persisted per second = new rows in
`message` / (time from the start of the webhook load until the last of them is committed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procinfo import group_cpu_seconds, machine, machine_busy_seconds, worker_pid
from ctreflex.whatsapp import sign

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LUA = Path(__file__).resolve().parent / "webhooks.lua"
APP_SECRET = "sim-app-secret"
PHONE_NUMBER_ID = "200000000000001"  # the seeded Demo Bakery number
CUSTOMERS = [  # (wa_id, profile name): two seeded customers and new ones
    ("12125550142", "Maria Lopez"),
    ("15550100142", "Maria L."),
    ("15550100143", "Ken Adams"),
    ("15550100144", "Ana Souza"),
    ("15550100145", "Joe Smith"),
    ("447700900123", "Priya Shah"),
    ("15550100146", "Li Wei"),
    ("15550100147", "Sam Okoro"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data: Path, port: int) -> dict[str, str]:
    tools_bin = ROOT / ".tools" / "node_modules" / ".bin"
    return {
        **os.environ,
        "PATH": f"{BIN}:{tools_bin}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": str(ROOT / ".reflex"),
        "CTREFLEX_DATABASE_URL": f"sqlite:///{data / 'bench.db'}",
        "CTREFLEX_MEDIA_DIR": str(data / "media"),
        "CTREFLEX_SIMULATOR_STATE_PATH": str(data / "simulator.json"),
        "CTREFLEX_PORT": str(port),
        "CTREFLEX_LANE_PLUGIN": "bench.bare",  # POST /bench/bare (bench/bare.py)
    }


def body(seq: int, run: str) -> bytes:
    wa_id, name = CUSTOMERS[seq % len(CUSTOMERS)]
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "100000000000001",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100100",
                                 "phone_number_id": PHONE_NUMBER_ID},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{
                        "from": wa_id,
                        "id": f"wamid.BENCH{run}{seq:09d}",
                        "timestamp": str(1767261600 + seq // 1000),
                        "type": "text",
                        "text": {"body": f"Bench message {seq}: can I move my appointment?"},
                    }],
                },
            }],
        }],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def write_requests(path: Path, count: int, run: str) -> None:
    with open(path, "wb") as out:
        for seq in range(count):
            raw = body(seq, run)
            out.write(sign(APP_SECRET, raw).encode() + b" " + raw + b"\n")


def wrk(url: str, path: str, data: Path, args) -> tuple[dict, float]:
    cmd = [args.wrk, "-t", str(args.threads), "-c", str(args.concurrency),
           "-d", f"{args.duration}s", "--timeout", "10s", "-s", str(LUA), url,
           "--", str(data), str(args.threads), path]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=args.duration + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line), cpu


def db_counts(db: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        messages = c.execute("SELECT count(*) FROM message").fetchone()[0]
        waiting = c.execute(
            "SELECT count(*) FROM webhookevent WHERE state IN ('pending', 'retry')"
        ).fetchone()[0]
    return messages, waiting


def start_app(env: dict, port: int, log: Path) -> subprocess.Popen:
    args = [str(BIN / "reflex"), "run", "--env", "prod", "--backend-only",
            "--backend-port", str(port)]
    with open(log, "ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"app exited early:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/ping", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"app did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)


def wait_processed(db: Path, expected_min: int, baseline: int, t0: float,
                   timeout: float) -> tuple[int, float, int]:
    """Poll until every journaled event is processed and the count is stable. Returns the new
    messages, the time from t0 to the poll that first saw the final count, and events left."""
    last, last_change = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while True:
        messages, waiting = db_counts(db)
        now = time.monotonic()
        if messages != last:
            last, last_change = messages, now
        done = waiting == 0 and messages - baseline >= expected_min
        if (done and now - last_change > 1.0) or now > deadline:
            return last - baseline, last_change - t0, waiting
        time.sleep(0.02)


def warm_up(url: str, n: int = 300) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for seq in range(n):
            raw = body(seq, "W")
            headers = {"X-Hub-Signature-256": sign(APP_SECRET, raw),
                       "Content-Type": "application/json"}
            client.post("/bench/bare", content=raw, headers=headers).raise_for_status()
            client.post("/webhooks/whatsapp", content=raw, headers=headers).raise_for_status()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (it shares the cores)")
    ap.add_argument("--max-rate", type=int, default=20000,
                    help="bodies generated per second of run (the count bound)")
    ap.add_argument("--wait", type=float, default=300,
                    help="longest wait, s, for the journal to be processed after the load")
    ap.add_argument("--profile-raw", action="store_true",
                    help="write PREFIX.txt (collapsed stacks, one per line) instead of the SVG")
    ap.add_argument("--profile", metavar="PREFIX",
                    help="py-spy record the app worker during the webhook run (PREFIX.svg)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, log)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = ap.parse_args()
    if not shutil.which(args.wrk):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    data = Path(tempfile.mkdtemp(prefix="ctreflex-bench-"))
    port = free_port()
    env = app_env(data, port)
    url = f"http://127.0.0.1:{port}"
    db = data / "bench.db"
    log = data / "app.log"
    for cmd in ([str(BIN / "alembic"), "upgrade", "head"],
                [str(BIN / "python"), "-m", "ctreflex.cli", "seed"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    count = args.duration * args.max_rate
    requests_file = data / "requests.txt"
    write_requests(requests_file, count, "R")

    proc = start_app(env, port, log)
    results: dict = {"machine": machine(), "duration_s": args.duration,
                     "concurrency": args.concurrency, "wrk_threads": args.threads,
                     "bodies": count}
    try:
        wait_ready(proc, url, log)
        warm_up(url)
        wait_processed(db, 300, db_counts(db)[0] - 300, time.monotonic(), 60)

        cpu0, busy0 = group_cpu_seconds(proc.pid), machine_busy_seconds()
        bare, bare_wrk_cpu = wrk(url, "/bench/bare", requests_file, args)
        bare_app_cpu = group_cpu_seconds(proc.pid) - cpu0
        bare_busy = machine_busy_seconds() - busy0
        time.sleep(1)

        baseline, _ = db_counts(db)
        spy = None
        if args.profile:
            pid = worker_pid(proc.pid)
            spy = subprocess.Popen([str(BIN / "py-spy"), "record", "-p", str(pid), "-r", "200",
                                    "-d", str(args.duration + 5), "--nonblocking",
                                    *(["--format", "raw", "-o", args.profile + ".txt"]
                                      if args.profile_raw else ["-o", args.profile + ".svg"])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        cpu0, busy0 = group_cpu_seconds(proc.pid), machine_busy_seconds()
        t0 = time.monotonic()
        hook, hook_wrk_cpu = wrk(url, "/webhooks/whatsapp", requests_file, args)
        t_load = time.monotonic() - t0
        hook_busy = machine_busy_seconds() - busy0
        accepted = hook["requests"] - hook["err_status"]
        # wrk stops with requests in flight: those may be journaled (and then processed) too.
        new, t_done, left = wait_processed(db, accepted, baseline, t0, args.wait)
        hook_app_cpu = group_cpu_seconds(proc.pid) - cpu0
        if spy is not None:
            spy.wait(timeout=120)
    finally:
        stop_group(proc)

    def rate(r: dict) -> float:
        return r["requests"] / (r["duration_us"] / 1e6)

    results.update({
        "bare": {**bare, "req_per_s": rate(bare), "app_cpu_s": bare_app_cpu,
                 "wrk_cpu_s": bare_wrk_cpu, "machine_busy_s": bare_busy},
        "webhook": {**hook, "req_per_s": rate(hook), "app_cpu_s": hook_app_cpu,
                    "wrk_cpu_s": hook_wrk_cpu, "load_s": t_load, "machine_busy_s": hook_busy},
        "persisted": {"messages": new, "seconds": t_done, "per_s": new / t_done if t_done else 0,
                      "events_left": left},
    })
    bare_rate = results["bare"]["req_per_s"]
    results["ratio_webhook_to_bare"] = results["webhook"]["req_per_s"] / bare_rate
    results["ratio_persisted_to_bare"] = results["persisted"]["per_s"] / bare_rate
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.keep:
        print(f"kept {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)


def report(r: dict) -> None:
    m, b, h, p = r["machine"], r["bare"], r["webhook"], r["persisted"]
    ms = 1000.0
    print(f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram']} RAM, Python {m['python']}")
    print(f"load: wrk -t{r['wrk_threads']} -c{r['concurrency']} -d{r['duration_s']}s on loopback "
          f"(shares the cores with the app); {r['bodies']} pre-signed bodies")
    print()
    print(f"{'':22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
          f"{'app CPU':>9}{'wrk CPU':>9}{'others':>8}")
    for name, x in (("bare /bench/bare", b), ("webhook (to 200)", h)):
        errors = sum(x[k] for k in ("err_connect", "err_read", "err_write", "err_status",
                                    "err_timeout"))
        secs = x["duration_us"] / 1e6
        print(f"{name:22}{x['req_per_s']:9.0f}{x['p50_us'] / ms:9.2f}{x['p99_us'] / ms:9.2f}"
              f"{x['max_us'] / ms:9.1f}{errors:8d}{x['app_cpu_s'] / secs:8.0%} "
              f"{x['wrk_cpu_s'] / secs:8.0%} "
              f"{max(0.0, x['machine_busy_s'] - x['app_cpu_s'] - x['wrk_cpu_s']) / secs:7.0%}")
        if x["exhausted"]:
            print(f"  ! {name}: the bodies ran out; raise --max-rate")
    print("  (CPU as % of one core; 'others' = the rest of the machine, not this bench; the app's")
    print("   webhook CPU window runs until the last message is processed, so it can exceed the")
    print("   load's duration)")
    print()
    print(f"messages persisted: {p['messages']} in {p['seconds']:.2f} s = {p['per_s']:.0f}/s "
          f"(events left unprocessed: {p['events_left']})")
    print(f"ratio webhook/bare (HTTP 200s):      {r['ratio_webhook_to_bare']:.0%}")
    print(f"ratio persisted/bare:                {r['ratio_persisted_to_bare']:.0%}")
    targets = [("persisted >= 3000/s", p["per_s"] >= 3000),
               (">= 50% of bare", r["ratio_persisted_to_bare"] >= 0.5),
               ("p99 < 50 ms", h["p99_us"] < 50_000)]
    print("targets: " + ", ".join(f"{n}: {'met' if ok else 'MISSED'}" for n, ok in targets))


if __name__ == "__main__":
    sys.exit(main())
