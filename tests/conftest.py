"""Shared fixtures: Chromium for browser tests, and databases (SQLite always, PostgreSQL when
the local server answers) built by the real Alembic migrations.

Which database a run uses is CTREFLEX_TEST_DATABASE (docs/QA.md, "Databases"):
- unset or `both`: `db_url` (and `session`, `seeded`, everything built on them) runs each test on
  SQLite and on PostgreSQL; the served app of the browser tests is on SQLite.
- `sqlite`: every database is SQLite.
- `postgres`: every database is a fresh PostgreSQL schema: `db_url`, the served app of the
  browser tests, the apps the durability tests start (`fresh_database_url`); and only the tests
  that touch a database are collected (the others ran in the SQLite pass of `make test`).
"""

from __future__ import annotations

import contextlib
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
TEST_DATABASE = os.environ.get("CTREFLEX_TEST_DATABASE", "").strip().lower() or "both"
if TEST_DATABASE not in ("both", "sqlite", "postgres"):
    raise pytest.UsageError(
        f"CTREFLEX_TEST_DATABASE={TEST_DATABASE!r}: use sqlite, postgres or both (the default)"
    )
#: The one database of a test pinned to one (`parametrize("db_url", [RUN_DATABASE], indirect=
#: True)`: slow, database-agnostic tests run once): PostgreSQL in the PostgreSQL pass.
RUN_DATABASE = "postgres" if TEST_DATABASE == "postgres" else "sqlite"
#: Fixtures that give a test a database; in the PostgreSQL pass only tests using one (or marked
#: `database`: they build their own through `fresh_database_url`) are collected.
DATABASE_FIXTURES = ("db_url", "served_app")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _qa_records_every_tab(request):
    """With `make qa` (--tracing / --screenshot), the tabs a test opens itself with
    `browser.new_context()` are recorded like the `page` fixture's: pytest-playwright records
    only the contexts its `new_context` fixture makes, so while the test runs those calls go
    through it (pytest_runtest_call below)."""
    config = request.config
    recording = any(
        config.getoption(option, default="off") not in ("off", None)
        for option in ("--tracing", "--screenshot")
    )
    if recording and "browser" in request.fixturenames:
        request.node._qa_contexts = (
            request.getfixturevalue("browser"),
            request.getfixturevalue("new_context"),
        )
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    pair = getattr(item, "_qa_contexts", None)
    if pair is None:
        return (yield)
    browser, make = pair
    original = browser.new_context

    def recorded(**kwargs):
        browser.new_context = original  # the fixture calls browser.new_context itself
        try:
            return make(**kwargs)
        finally:
            browser.new_context = recorded

    browser.new_context = recorded
    try:
        return (yield)
    finally:
        browser.new_context = original


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
    for engine in _reset_engines.values():
        engine.dispose()
    _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


_reset_engines: dict = {}


def _truncate_all(url: str) -> None:
    """Empty every table and restart every id sequence. DELETE, children first: on these small
    tables it takes ~10 ms where TRUNCATE (new files for each table) took ~1 s per test."""
    from sqlmodel import SQLModel

    import ctreflex.models  # noqa: F401

    engine = _reset_engines.get(url)
    if engine is None:
        engine = _reset_engines[url] = create_engine(url, pool_size=1)
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        conn.execute(text(
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        ))


_PG_PARAM = pytest.param("postgres", marks=pytest.mark.postgres)
_DB_PARAMS = {"both": ["sqlite", _PG_PARAM], "sqlite": ["sqlite"], "postgres": [_PG_PARAM]}


_created_schemas: list[str] = []


def fresh_database_url(folder: Path, name: str = "app") -> str:
    """An empty database (not migrated) for an app a test starts as its own process: a SQLite
    file in `folder`, or in the PostgreSQL pass a new schema, dropped when the session ends."""
    if TEST_DATABASE != "postgres":
        return f"sqlite:///{folder / f'{name}.db'}"
    if not postgres_available():
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    _created_schemas.append(schema)
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


def pytest_sessionfinish(session, exitstatus):
    for schema in _created_schemas:
        # a leftover schema in the test database is harmless
        with contextlib.suppress(Exception):
            _pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=_DB_PARAMS[TEST_DATABASE])
def db_url(request, tmp_path, monkeypatch, _sqlite_template, _pg_schema) -> str:
    """A migrated, empty database on each backend of the run (CTREFLEX_TEST_DATABASE); the app's
    engine points at it."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(_sqlite_template, target)
        url = f"sqlite:///{target}"
    else:
        if _pg_schema is None:
            pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is not reachable")
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


def touches_database(item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return item.get_closest_marker("database") is not None or any(
        f in fixtures for f in DATABASE_FIXTURES
    )


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL pass (CTREFLEX_TEST_DATABASE=postgres) only the tests that touch a
    database. Browser tests last: Playwright's sync API leaves an event loop on the main thread,
    which breaks later tests that call asyncio.run(). Among them (and every test of the
    session's `served_app`, browser or not), the ones that build and serve their own frontend
    (tests/scale/test_scaled_e2e.py) first: `served_app` builds .web for its own port when it
    starts, and must be the last build while it serves."""

    def order(item) -> tuple[bool, bool]:
        browser = item.get_closest_marker("browser") is not None
        served = "served_app" in getattr(item, "fixturenames", ())
        own_build = "tests/scale/test_scaled_e2e.py" in item.nodeid
        return browser or served or own_build, not own_build

    if TEST_DATABASE == "postgres":
        keep = [item for item in items if touches_database(item)]
        if len(keep) < len(items):
            config.hook.pytest_deselected(items=[i for i in items if not touches_database(i)])
            items[:] = keep
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
