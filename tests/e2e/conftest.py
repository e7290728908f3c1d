"""The served app (production mode, one port) on a fresh seeded database, for Chromium."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.conftest import ROOT, TEST_DATABASE, fresh_database_url

START_TIMEOUT = 300
BIN = ROOT / ".venv" / "bin"
# The PostgreSQL pass compiles its frontend into a folder of its own, so it can run beside the
# SQLite pass (`make test` runs both at once): .web names the port of the app it was built for.
WEB_WORKDIR = (
    {"REFLEX_WEB_WORKDIR": str(ROOT / ".reflex" / "web-postgres")}
    if TEST_DATABASE == "postgres"
    else {}
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of an app started as its own process: its files under `data`, its own
    empty database (SQLite there, or a fresh PostgreSQL schema in the PostgreSQL pass)."""
    tools_bin = ROOT / ".tools" / "node_modules" / ".bin"
    return {
        **os.environ,
        "PATH": f"{BIN}:{tools_bin}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": str(ROOT / ".reflex"),
        "CTREFLEX_DATABASE_URL": extra.pop("CTREFLEX_DATABASE_URL", None)
        or fresh_database_url(data, "e2e"),
        "CTREFLEX_MEDIA_DIR": str(data / "media"),
        "CTREFLEX_SIMULATOR_STATE_PATH": str(data / "simulator.json"),
        "CTREFLEX_PORT": str(port),
        **WEB_WORKDIR,
        **extra,
    }


def prepare_database(env: dict[str, str]) -> None:
    for cmd in (
        [str(BIN / "alembic"), "upgrade", "head"],
        [sys.executable, "-m", "ctreflex.cli", "seed"],
    ):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


def start_app(env: dict[str, str], port: int, log: Path, *, backend_only: bool = False):
    args = [str(BIN / "reflex"), "run", "--env", "prod"]
    args += (
        ["--backend-only", "--backend-port", str(port)]
        if backend_only
        else ["--single-port", "--frontend-port", str(port), "--backend-port", str(port)]
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_ready(proc: subprocess.Popen, url: str, log: Path, paths=("/ping", "/login/")) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{log.read_text()[-4000:]}")
        try:
            if all(httpx.get(url + p, timeout=2).status_code == 200 for p in paths):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"app did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process started with start_new_session and everything it spawned."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class ServedApp:
    def __init__(self, url: str, env: dict[str, str], log: Path):
        self.url = url
        self.env = env
        self.log = log


def login(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inbox**", timeout=30_000)


def wait_hydrated(page: Page) -> None:
    """Until the page's on_load handlers ran. After a reload the tab first shows the state it
    had (the server's snapshot); a click before its on_load ran is handled first and the load
    then clears the notice it set (components/layout.py `data-hydrated`)."""
    page.locator(".ct-shell[data-hydrated=true]").wait_for(timeout=15_000)


def conversation_name(name: str) -> re.Pattern:
    """The accessible name of a conversation row in the inbox list: the row's own text, the
    customer's name first (WCAG 2.5.3: the name contains what is visible)."""
    return re.compile("^" + re.escape(name) + r"(?!\w)")


OPERATOR = ("ops@ctt-platform.test", "tall-ferns-at-dusk")


def add_operator(served_app) -> tuple[str, str]:
    """Creates (or resets) the platform operator of the served app with the CLI an operator
    uses (`python -m ctreflex.cli operator-add`); returns its e-mail and password."""
    email, password = OPERATOR
    done = subprocess.run(
        [sys.executable, "-m", "ctreflex.cli", "operator-add", email],
        input=password + "\n",
        cwd=ROOT,
        env=served_app.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return email, password
