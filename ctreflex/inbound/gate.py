"""The write gate: one database writer at a time, the journal first.

Buys: the webhook's 200 never sleeps in SQLite's busy handler behind a processing batch; a
turn handed over through flock wakes the waiter at once. Measured (docs/PERFORMANCE.md, "write
gate across processes"): 200s/s 4,624 -> 5,312 and p99 57.5 -> 26.3 ms. Guarded by
tests/unit/test_write_gate.py (both directions across two processes).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # not on Windows: the gate is then per process only
    fcntl = None  # type: ignore[assignment]

from ctreflex import db


class WriteGate:
    """One database writer at a time, the journal first.

    SQLite lets one transaction write at a time; a writer that finds the lock taken sleeps in
    SQLite's busy handler (1, 2, 5, 10 ... ms), which is where webhook latency went. The journal
    writer and the processor take this gate instead: the journal waits at most one run of
    processing, because the processor commits and steps aside as soon as the journal asks
    (`journal_waiting`).

    On a SQLite file the gate spans processes (the processor runs in a child of the web worker):
    two lock files beside the database, `<db>-gate` (the write turn, flock exclusive) and
    `<db>-want` (held shared by every journal write that waits or writes; the processor tests it
    without blocking). A turn handed over through flock wakes the waiter at once, where
    SQLite's busy handler would sleep. Harmless with PostgreSQL (in-process order only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._journal_waiting = 0
        self._files: dict[str, tuple[int, int, int]] = {}

    def _lock_files(self) -> tuple[int, int, int] | None:
        """(gate, want, probe): probe is a second open of the want file, so that testing it
        never touches the shared lock this process's journal holds on `want`."""
        engine = db.get_engine()
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        if not path or path == ":memory:" or fcntl is None:
            return None
        fds = self._files.get(path)
        if fds is None:
            with self._count_lock:
                fds = self._files.get(path)
                if fds is None:
                    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                    fds = (os.open(f"{path}-gate", flags, 0o600),
                           os.open(f"{path}-want", flags, 0o600),
                           os.open(f"{path}-want", flags, 0o600))
                    self._files[path] = fds
        return fds

    def journal_waiting(self) -> bool:
        if self._journal_waiting > 0:
            return True
        fds = self._lock_files()
        if fds is None:
            return False
        try:
            fcntl.flock(fds[2], fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # a journal write (this process's or another's) holds it
        fcntl.flock(fds[2], fcntl.LOCK_UN)
        return False

    @contextlib.contextmanager
    def journal(self) -> Iterator[None]:
        fds = self._lock_files()
        with self._count_lock:
            self._journal_waiting += 1
            first = self._journal_waiting == 1
        if first and fds is not None:
            fcntl.flock(fds[1], fcntl.LOCK_SH)  # one flock per process: the first takes it
        try:
            with self._lock, self._turn(fds):
                yield
        finally:
            with self._count_lock:
                self._journal_waiting -= 1
                if self._journal_waiting == 0 and fds is not None:
                    fcntl.flock(fds[1], fcntl.LOCK_UN)  # ... and the last lets it go

    @contextlib.contextmanager
    def processing(self) -> Iterator[None]:
        fds = self._lock_files()
        while self.journal_waiting():
            time.sleep(0.0002)
        with self._lock, self._turn(fds):
            yield

    @contextlib.contextmanager
    def _turn(self, fds: tuple[int, int, int] | None) -> Iterator[None]:
        if fds is None:
            yield
            return
        fcntl.flock(fds[0], fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fds[0], fcntl.LOCK_UN)


write_gate = WriteGate()
