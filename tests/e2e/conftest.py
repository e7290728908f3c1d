"""The served app (production mode, one port) on a fresh seeded database, for Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import ROOT

START_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data: Path, port: int) -> dict[str, str]:
    venv_bin = ROOT / ".venv" / "bin"
    tools_bin = ROOT / ".tools" / "node_modules" / ".bin"
    return {
        **os.environ,
        "PATH": f"{venv_bin}:{tools_bin}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": str(ROOT / ".reflex"),
        "CTREFLEX_DATABASE_URL": f"sqlite:///{data / 'e2e.db'}",
        "CTREFLEX_MEDIA_DIR": str(data / "media"),
        "CTREFLEX_PORT": str(port),
    }


class ServedApp:
    def __init__(self, url: str, env: dict[str, str], log: Path):
        self.url = url
        self.env = env
        self.log = log


@pytest.fixture(scope="session")
def served_app(tmp_path_factory) -> ServedApp:
    data = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = app_env(data, port)
    for args in (["alembic", "upgrade", "head"], ["-m", "ctreflex.cli", "seed"]):
        cmd = (
            [str(ROOT / ".venv" / "bin" / "alembic"), *args[1:]]
            if args[0] == "alembic"
            else [sys.executable, *args]
        )
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    log = data / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited early:\n{log.read_text()[-4000:]}")
            try:
                if (
                    httpx.get(url + "/login/", timeout=2).status_code == 200
                    and httpx.get(url + "/ping", timeout=2).status_code == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"app did not start:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield ServedApp(url, env, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def base_url(served_app) -> str:
    return served_app.url


def login(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inbox**", timeout=30_000)
