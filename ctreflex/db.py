"""Engine and sessions shared by the UI, the API routes, the webhook and the jobs."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine, text

from ctreflex.settings import get_settings


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message names the setting."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def _has_nul(value) -> bool:
    """Whether a text value in the parameters holds a NUL. repr() writes a NUL as the four
    characters \\x00 and walks the whole structure in C: when they are not there, no text holds
    one (the walk in Python was a sixth of the inbound fast path's CPU: an executemany of 256
    rows x 20 values per batch); when they are, a text may just say "\\x00", so look closely."""
    try:
        if "\\x00" not in repr(value):
            return False
    except Exception:  # noqa: BLE001 - a value whose repr fails: the walk decides
        pass
    return _holds_nul(value)


def _nul_free(value):
    """`value` (a statement's parameters, as the driver takes them) with U+FFFD for each NUL
    in a text value; the same shape (mapping, list or tuple), other values as they are."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {k: _nul_free(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_nul_free(v) for v in value)
    return value


def _no_nul(_conn, _cursor, statement, parameters, _context, _executemany):
    """Text with a NUL character (U+0000) is stored with U+FFFD in its place, on every path
    and both databases: PostgreSQL refuses NUL in text (a send through the API, a note or a
    search with one would fail), and SQLite's tools cut text at it. The parameters are handed
    on untouched unless a text value holds a NUL (a C-level `in` per string)."""
    if parameters and _has_nul(parameters):
        return statement, _nul_free(parameters)
    return statement, parameters


def build_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    event.listen(engine, "before_cursor_execute", _no_nul, retval=True)
    return engine


@functools.cache
def get_engine() -> Engine:
    return build_engine(get_settings().database_url)


def reset_engine() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def check_database(engine: Engine | None = None) -> None:
    """Fail fast with a message naming the setting when the database cannot be reached."""
    try:
        engine = engine or get_engine()
    except Exception as exc:  # bad URL or missing driver
        raise DatabaseUnavailable(
            f"CTREFLEX_DATABASE_URL is not usable: {exc.__class__.__name__}: {exc}"
        ) from exc
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {url} (setting CTREFLEX_DATABASE_URL): "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc
