"""Shared fixtures: Chromium for browser tests, and databases (SQLite always, PostgreSQL when
the local server answers) built by the real Alembic migrations."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PG_ADMIN_URL = os.environ.get(
    "CTREFLEX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def migrate(url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def use_database(monkeypatch, url: str) -> None:
    """Point settings and the shared engine at `url` for one test."""
    from ctreflex import db
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_DATABASE_URL", url)
    reset_settings_cache()
    db.reset_engine()


@pytest.fixture(scope="session")
def _pg_ok() -> bool:
    return postgres_available()


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """One SQLite file built by the real migrations; each test gets a copy."""
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_schema(_pg_ok):
    """One PostgreSQL schema built by the real migrations; emptied between tests."""
    if not _pg_ok:
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    migrate(url)
    yield url
    _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


def _truncate_all(url: str) -> None:
    from sqlmodel import SQLModel

    import ctreflex.models  # noqa: F401

    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, monkeypatch, _sqlite_template, _pg_schema) -> str:
    """A migrated, empty database on each backend; the app's engine points at it."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(_sqlite_template, target)
        url = f"sqlite:///{target}"
    else:
        if _pg_schema is None:
            pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
        url = _pg_schema
        _truncate_all(url)
    use_database(monkeypatch, url)
    yield url
    from ctreflex import db

    db.reset_engine()


@pytest.fixture
def session(db_url) -> Session:
    from ctreflex import db

    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def seeded(session) -> Session:
    from ctreflex.services.seed import seed_demo

    seed_demo(session=session)
    return session


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API leaves an event loop on the main thread,
    which breaks later tests that call asyncio.run(). Among them (and every test of the
    session's `served_app`, browser or not), the ones that build and serve their own frontend
    (tests/scale/test_scaled_e2e.py) first: `served_app` builds .web for its own port when it
    starts, and must be the last build while it serves."""

    def order(item) -> tuple[bool, bool]:
        browser = item.get_closest_marker("browser") is not None
        served = "served_app" in getattr(item, "fixturenames", ())
        own_build = "tests/scale/test_scaled_e2e.py" in item.nodeid
        return browser or served or own_build, not own_build

    items.sort(key=order)


def read_line_within(stream, timeout: float) -> str:
    """One line from another process's pipe, or fail the test after `timeout` seconds."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert result, "the other process did not answer in time"
    return result[0].strip()


@pytest.fixture(scope="session")
def served_app(tmp_path_factory):
    """The app served for real (production mode, one port) on a fresh seeded database: ONE per
    test session for every browser test (tests/e2e, tests/security, ...). The compiled frontend
    in .web names the port it was built for, so a second served app built from the same folder
    would send the first one's pages to the wrong websocket."""
    from tests.e2e.conftest import (
        ServedApp,
        app_env,
        free_port,
        prepare_database,
        start_app,
        stop_group,
        wait_ready,
    )

    data = tmp_path_factory.mktemp("served")
    port = free_port()
    env = app_env(data, port)
    prepare_database(env)
    log = data / "app.log"
    proc = start_app(env, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, url, log)
        yield ServedApp(url, env, log)
    finally:
        stop_group(proc)


@pytest.fixture(scope="session")
def base_url(served_app) -> str:
    return served_app.url
