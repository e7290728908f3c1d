"""``python -m ctreflex.scaled`` (``make run-scaled``): the app with several web workers on
PostgreSQL and Redis, the simulators as their own single process, one port for the browser.

Steps, in order:
1. the database: CTREFLEX_DATABASE_URL must be PostgreSQL (several processes on one SQLite file
   is not a scaled deployment); the database is created when missing; Redis (REFLEX_REDIS_URL)
   must answer PING. Each failure stops here with a message naming the setting.
2. migrations (alembic upgrade head) and the demo seed, as ``make run`` does;
3. the simulators (WhatsApp + SMS) in ONE process of their own (``python -m ctreflex.simulator
   --mount /simulator --sms-mount /sms-simulator``), restarted if it exits; the workers call it
   through CTREFLEX_GRAPH_BASE_URL / CTREFLEX_SMS_BASE_URL and forward /simulator to it;
4. ``reflex run --env prod --single-port`` with GRANIAN_WORKERS=WORKERS, in this process, with
   granian's respawn of failed workers switched on: Reflex 0.10 builds granian's Server itself
   and passes no respawn option (the GRANIAN_RESPAWN_FAILED_WORKERS variable is read only by
   granian's own CLI), so the Server's defaults are changed here before Reflex builds it. A
   worker that dies (kill -9 included) is started again after GRANIAN_RESPAWN_INTERVAL seconds
   (default 1); the others keep serving; a worker that dies again within 5.5 s of its respawn is
   a crash loop and granian stops (a process manager restarts the whole, docs/DEPLOY.md).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ctreflex"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001
        fail(f"CTREFLEX_DATABASE_URL is not a database URL ({exc.__class__.__name__})")
    if not parsed.drivername.startswith("postgresql"):
        fail("make run-scaled needs PostgreSQL: set CTREFLEX_DATABASE_URL="
             "postgresql+psycopg://user@host:5432/ctreflex (several workers on one SQLite file "
             "is not supported; `make run` serves SQLite with one worker)")
    name = parsed.database or "ctreflex"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    shown = parsed.render_as_string(hide_password=True)
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                print(f"created database {name}", flush=True)
    except Exception as exc:  # noqa: BLE001
        fail(f"PostgreSQL at {shown} (CTREFLEX_DATABASE_URL) is not reachable or the database "
             f"cannot be created: {exc.__class__.__name__}")
    finally:
        admin.dispose()


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        fail(f"Redis (REFLEX_REDIS_URL) does not answer: {exc.__class__.__name__}. Several "
             "workers share their pages' state and live events through it.")


def migrate_and_seed(env: dict[str, str]) -> None:
    bin_dir = Path(sys.executable).parent
    for cmd in ([sys.executable, "-m", "ctreflex.cli", "check-db"],
                [str(bin_dir / "alembic"), "upgrade", "head"],
                [sys.executable, "-m", "ctreflex.cli", "seed"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)


class SimulatorProcess:
    """The one simulator process, started again if it exits (its state is in its state file)."""

    def __init__(self, port: int, env: dict[str, str], public: str, state_path: str) -> None:
        self.port = port
        self.args = [
            sys.executable, "-m", "ctreflex.simulator", "--port", str(port),
            "--mount", "/simulator", "--sms-mount", "/sms-simulator",
            "--webhook-url", f"{public}/webhooks/whatsapp",
            "--sms-inbound-url", f"{public}/webhooks/sms",
            "--state-path", state_path,
            "--log-level", os.environ.get("SIM_LOG_LEVEL", "warning"),
        ]
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._stopping = False

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env)
        threading.Thread(target=self._watch, daemon=True, name="simulator-watch").start()
        atexit.register(self.stop)
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.port}/simulator/control/health"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        fail(f"the simulator did not start on port {self.port} (SIM_PORT)")

    def _watch(self) -> None:
        while not self._stopping:
            code = self.proc.wait()
            if self._stopping:
                return
            print(f"the simulator exited (code {code}); starting it again", file=sys.stderr)
            time.sleep(1)
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env)

    def stop(self) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def enable_granian_respawn(interval: float) -> None:
    from granian.server.common import AbstractServer

    original = AbstractServer.__init__
    if getattr(original, "_ctreflex_respawn", False):
        return

    def init(self, *args, **kwargs):
        kwargs.setdefault("respawn_failed_workers", True)
        kwargs.setdefault("respawn_interval", interval)
        original(self, *args, **kwargs)

    init._ctreflex_respawn = True  # type: ignore[attr-defined]
    AbstractServer.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    env = os.environ
    workers = int(env.get("WORKERS") or env.get("GRANIAN_WORKERS") or 3)
    port = int(env.get("CTREFLEX_PORT") or env.get("PORT") or 3000)
    sim_port = int(env.get("SIM_PORT") or port + 100)
    database_url = env.get("CTREFLEX_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = env.get("REFLEX_REDIS_URL") or DEFAULT_REDIS_URL
    ensure_database(database_url)
    check_redis(redis_url)
    os.environ.update({
        "CTREFLEX_DATABASE_URL": database_url,
        "REFLEX_REDIS_URL": redis_url,
        "GRANIAN_WORKERS": str(workers),
        "CTREFLEX_PORT": str(port),
    })
    from ctreflex.settings import get_settings, reset_settings_cache

    reset_settings_cache()
    settings = get_settings()
    public = settings.base_url
    if settings.whatsapp_mode == "simulator" or settings.sms_mode == "simulator":
        sim = f"http://127.0.0.1:{sim_port}"
        if settings.whatsapp_mode == "simulator" and not env.get("CTREFLEX_GRAPH_BASE_URL"):
            os.environ["CTREFLEX_GRAPH_BASE_URL"] = f"{sim}/simulator"
        if settings.sms_mode == "simulator" and not env.get("CTREFLEX_SMS_BASE_URL"):
            os.environ["CTREFLEX_SMS_BASE_URL"] = f"{sim}/sms-simulator"
        # the simulator signs webhooks with the app's secret: handed over in its environment
        sim_env = {**os.environ,
                   "SIM_APP_SECRET": settings.app_secret.get_secret_value(),
                   "SIM_VERIFY_TOKEN": settings.verify_token.get_secret_value()}
        state = str(settings.simulator_state_path or "")
        migrate_and_seed(dict(os.environ))
        SimulatorProcess(sim_port, sim_env, public, state).start()
    else:
        migrate_and_seed(dict(os.environ))
    reset_settings_cache()
    enable_granian_respawn(float(env.get("GRANIAN_RESPAWN_INTERVAL") or 1.0))
    host = settings.host
    print(f"\n  CT Text (scaled: {workers} workers, PostgreSQL, Redis) on {public}\n"
          f"  the simulators' own process: http://127.0.0.1:{sim_port} "
          f"(also {public}/simulator/)\n", flush=True)
    from reflex.reflex import cli

    cli.main(args=["run", "--env", "prod", "--single-port", "--frontend-port", str(port),
                   "--backend-port", str(port), "--backend-host", host],
             prog_name="reflex", standalone_mode=True)


if __name__ == "__main__":
    main()
