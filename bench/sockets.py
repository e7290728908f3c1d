"""Sockets: many signed-in inbox tabs speaking the browser's protocol on /_event.

    .venv/bin/pip install aiohttp                 # python-socketio's asyncio client needs it
    .venv/bin/python -m bench.sockets             # 20 accounts x 10 agents, 30 s, 1 event/s

What it does: a fresh seeded SQLite database (alembic + seed), then 20 extra accounts of 10
agents each and one sign-in session per agent, written straight into the bench's database
with the models (a session is what `auth.login` writes: a hashed random token). Then the
backend (`reflex run --env prod --backend-only`, one worker) and N python-socketio asyncio
clients, each as a browser tab does it: connect to /_event with `?token=<tab token>` and the
hydrate event (`State.hydrate_and_load`, path /inbox; the session cookie in the handshake) in the
CONNECT packet, which runs the inbox's on_load; then `InboxState.heartbeat`, which starts the
tab's background listener on its account's stream. Then every client sends one private event
per second (`InboxState.toggle_details`: changes only that tab's state) for --duration s.

Figures: round trip (emit -> first state update back) p50/p95/p99; server CPU (the app's
process group) and RSS; and the updates each tab receives that it did not cause (any update
arriving while the tab has no event of its own in flight): must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import assign_events
from bench.ingest import (
    APP_SECRET,
    BIN,
    ROOT,
    app_env,
    body,
    free_port,
    group_cpu_seconds,
    machine,
    machine_busy_seconds,
    start_app,
    stop_group,
    wait_ready,
)
from bench.procinfo import load, rss_mb
from ctreflex.whatsapp import sign


def _state_names() -> tuple[str, str, str]:
    """The states' paths as the browser names them, read from the classes."""
    import reflex as rx

    from ctreflex.pages.inbox import InboxState
    from ctreflex.state.auth import AuthState

    return rx.State.get_full_name(), AuthState.get_full_name(), InboxState.get_full_name()


STATE, AUTH, INBOX = _state_names()
SESSION_COOKIE = "ctreflex_session"  # ctreflex.routes.SESSION_COOKIE
ROUTER = {"pathname": "/inbox", "query": {}, "asPath": "/inbox"}


def make_agents(env: dict, accounts: int, per_account: int) -> list[tuple[int, str]]:
    """(account id, session token) per agent, written into the bench's database."""
    os.environ.update(env)
    from sqlmodel import select

    from ctreflex import db
    from ctreflex.models import Account, AuthSession, Plan, User, utc_now
    from ctreflex.services.auth import hash_password
    from ctreflex.services.crypto import token_digest

    out = []
    password_hash = hash_password("bench-password-1")
    now = utc_now()
    with db.session_scope() as session:
        plan = session.exec(select(Plan).where(Plan.whatsapp_included.is_(True))
                            .order_by(Plan.seats.desc())).first()
        for a in range(accounts):
            if a == 0:  # the seeded Demo Bakery: its number takes the live check's webhook
                account = session.exec(select(Account).where(Account.name == "Demo Bakery")).one()
            else:
                account = Account(name=f"Bench Shop {a:02d}", plan_id=plan.id,
                                  early_access=True)
                session.add(account)
                session.flush()
            for u in range(per_account):
                user = User(account_id=account.id, email=f"agent{u}@shop{a}.bench.test",
                            name=f"Agent {a}-{u}", password_hash=password_hash, role="agent")
                session.add(user)
                session.flush()
                token = secrets.token_urlsafe(32)
                session.add(AuthSession(token_hash=token_digest(token), user_id=user.id,
                                        created_at=now, expires_at=now + dt.timedelta(hours=8)))
                out.append((account.id, token))
    db.reset_engine()
    return out


def event(name: str, payload: dict | None = None) -> dict:
    return {"name": name, "payload": payload or {}, "router_data": ROUTER}


class Tab:
    def __init__(self, url: str, account_id: int, session_token: str):
        import socketio

        self.url = url
        self.account_id = account_id
        self.session_token = session_token
        self.token = str(uuid.uuid4())
        self.sio = socketio.AsyncClient(reconnection=False)
        self.in_flight: asyncio.Future | None = None
        self.rtts: list[float] = []
        self.updates = 0
        self.foreign = 0  # updates received with no event of ours in flight
        # of those: carrying the private var another tab's event changes (a leak between tabs,
        # or a late answer to our own toggle), and the tab's own listener's updates (a live
        # event of its account, or a wake-up that re-sent values: 0 when nothing changed)
        self.leaks = 0
        self.own_listener = 0
        self.extra = 0  # further updates while ours was in flight (after the first)
        self.errors = 0
        self.signed_in_as = ""
        self.foreign_before_check = 0
        self.own_before_check = 0
        self.sio.on("event", self._on_update, namespace="/_event")

    async def _on_update(self, data) -> None:
        self.updates += 1
        auth = ((data or {}).get("delta") or {}).get(AUTH) or {}
        if auth.get("user_email_rx_state_"):
            self.signed_in_as = auth["user_email_rx_state_"]
        fut = self.in_flight
        if fut is None:
            self.foreign += 1
            inbox = ((data or {}).get("delta") or {}).get(INBOX) or {}
            if "details_toggled_rx_state_" in inbox:
                self.leaks += 1
            else:
                self.own_listener += 1
        elif fut.done():
            self.extra += 1
        else:
            fut.set_result(time.perf_counter())

    async def connect(self) -> None:
        hydrate = event(f"{STATE}.hydrate_and_load", {"vars": {}})
        self.in_flight = asyncio.get_running_loop().create_future()  # the hydrate's updates
        # the session travels as the browser sends it: the HttpOnly cookie of the handshake
        cookie = {"Cookie": f"{SESSION_COOKIE}={self.session_token}"}
        await self.sio.connect(f"{self.url}?token={self.token}", socketio_path="/_event",
                               transports=["websocket"], namespaces=["/_event"],
                               headers=cookie, auth={"event": hydrate}, wait_timeout=30)
        await self.send(f"{INBOX}.heartbeat", {"_now": ""}, record=False)

    async def send(self, name: str, payload: dict | None = None, record: bool = True) -> None:
        self.in_flight = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        await self.sio.emit("event", event(name, payload), namespace="/_event")
        try:
            t1 = await asyncio.wait_for(self.in_flight, 10)
            if record:
                self.rtts.append(t1 - t0)
        except TimeoutError:
            self.errors += 1
        await asyncio.sleep(0.25)  # the rest of this event's updates count as ours
        self.in_flight = None

    async def run(self, duration: float) -> None:
        await asyncio.sleep(random.random())  # spread the clients over the second
        end = time.monotonic() + duration
        while time.monotonic() < end:
            start = time.monotonic()
            await self.send(f"{INBOX}.toggle_details")
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - start)))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))]





async def main_async(args) -> None:
    data = Path(tempfile.mkdtemp(prefix="ctreflex-sockets-"))
    port = free_port()
    env = {**app_env(data, port), **assign_events.RATE_ENV}
    env.pop("CTREFLEX_LANE_PLUGIN", None)
    for cmd in ([str(BIN / "alembic"), "upgrade", "head"],
                [str(BIN / "python"), "-m", "ctreflex.cli", "seed"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    agents = make_agents(env, args.accounts, args.per_account)
    assign_key, assign_convs, assign_users = assign_events.prepare(env)
    log = data / "app.log"
    proc = start_app(env, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_ready, proc, url, log)
        with httpx.Client() as c:  # compiles nothing, but warms the worker
            c.get(url + "/ping")
        pid = proc.pid
        rss0 = rss_mb(pid)
        tabs = [Tab(url, account_id, token) for account_id, token in agents]
        t0 = time.monotonic()
        for i in range(0, len(tabs), 20):  # connect in waves, as tabs would open
            await asyncio.gather(*(t.connect() for t in tabs[i : i + 20]))
        connect_s = time.monotonic() - t0
        await asyncio.sleep(2)
        signed_in = sum(1 for t in tabs if t.signed_in_as)
        for t in tabs:  # what came in while connecting is not counted
            t.updates = t.foreign = t.extra = t.leaks = t.own_listener = 0
        rss1 = rss_mb(pid)
        load0 = load()
        # --assign-rate: the Demo Bakery's conversations are assigned meanwhile (its tabs
        # hear each one; no other account's tab may)
        emitter = assign_events.Emitter(url, assign_key, assign_convs, assign_users,
                                        args.assign_rate)
        emitter.start()
        cpu0, busy0, w0 = group_cpu_seconds(proc.pid), machine_busy_seconds(), time.monotonic()
        await asyncio.gather(*(t.run(args.duration) for t in tabs))
        await emitter.stop()
        wall = time.monotonic() - w0
        cpu = group_cpu_seconds(proc.pid) - cpu0
        busy = machine_busy_seconds() - busy0
        rss2 = rss_mb(pid)
        load1 = load()
        await asyncio.sleep(1)
        # Live check: one inbound webhook to the Demo Bakery. Its tabs' listeners must push
        # it (proves they run); no other account's tab may receive anything.
        bakery = agents[0][0]
        for t in tabs:
            t.foreign_before_check = t.foreign
            t.own_before_check = t.own_listener
        raw = body(0, uuid.uuid4().hex[:8])
        httpx.post(url + "/webhooks/whatsapp", content=raw, timeout=10, headers={
            "X-Hub-Signature-256": sign(APP_SECRET, raw), "Content-Type": "application/json"
        }).raise_for_status()
        await asyncio.sleep(2)
        pushed_bakery = sum(1 for t in tabs if t.account_id == bakery
                            and t.foreign > t.foreign_before_check)
        pushed_others = sum(1 for t in tabs if t.account_id != bakery
                            and t.foreign > t.foreign_before_check)
        for t in tabs:
            t.foreign = t.foreign_before_check
            t.own_listener = t.own_before_check
            await t.sio.disconnect()
    finally:
        stop_group(proc)

    rtts = [r for t in tabs for r in t.rtts]
    events = sum(len(t.rtts) for t in tabs)
    m = machine()
    print(f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram']} RAM, Python {m['python']}")
    print(f"load average before/after: {' '.join(load0)} / {' '.join(load1)}")
    print(f"{len(tabs)} tabs ({args.accounts} accounts x {args.per_account}), connected in "
          f"{connect_s:.1f} s; {args.duration} s at 1 private event per tab per second")
    print(f"signed in (hydrate delta names the user): {signed_in}/{len(tabs)}")
    print(f"events answered: {events} ({events / wall:.0f}/s), timeouts: "
          f"{sum(t.errors for t in tabs)}")
    ms = 1000
    print(f"round trip: p50 {pct(rtts, 50) * ms:.1f} ms, p95 {pct(rtts, 95) * ms:.1f} ms, "
          f"p99 {pct(rtts, 99) * ms:.1f} ms, max {max(rtts) * ms:.1f} ms")
    print(f"server CPU: {cpu / wall:.0%} of one core (machine busy {busy / wall:.0%}, this "
          f"bench's clients included)")
    print(f"server RSS (app process group): {rss0:.0f} MB idle, {rss1:.0f} MB with "
          f"{len(tabs)} tabs "
          f"({(rss1 - rss0) / len(tabs) * 1024:.0f} KB per tab), {rss2:.0f} MB after the run")
    n_bakery = sum(1 for t in tabs if t.account_id == agents[0][0])
    print(f"live check, one webhook to the Demo Bakery: {pushed_bakery}/{n_bakery} of its tabs "
          f"updated, {pushed_others} tabs of other accounts updated")
    bakery = agents[0][0]
    if args.assign_rate > 0:
        # the Demo Bakery's tabs are told of each assignment (a live update they did not
        # cause, and should get): counted apart; every other tab must get nothing
        heard = sum(t.foreign for t in tabs if t.account_id == bakery)
        print(f"assignment events: {emitter.sent} sent ({args.assign_rate}/s via /api/v1), "
              f"{emitter.errors} errors; live updates to the Demo Bakery's "
              f"{sum(1 for t in tabs if t.account_id == bakery)} tabs: {heard}")
        for t in tabs:
            if t.account_id == bakery:
                t.foreign = t.own_listener = 0
    foreign = sum(t.foreign for t in tabs)
    leaks = sum(t.leaks for t in tabs)
    own = sum(t.own_listener for t in tabs)
    extra = sum(t.extra for t in tabs)
    print(f"updates received not caused by the tab: {foreign} "
          f"({foreign / max(events, 1):.3f} per event); extra updates per own event: "
          f"{extra / max(events, 1):.2f}")
    print(f"  of which carrying another tab's private var (details_toggled; a leak): {leaks}; "
          f"the tab's own listener re-sending values with nothing new: {own}")
    p95_ok = pct(rtts, 95) < 0.1
    print(f"targets: p95 < 100 ms: {'met' if p95_ok else 'MISSED'}; 0 foreign updates: "
          f"{'met' if foreign == 0 else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--per-account", type=int, default=10)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--assign-rate", type=float, default=0.0,
                    help="assignments per second in the Demo Bakery via /api/v1 during the run")
    args = ap.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
