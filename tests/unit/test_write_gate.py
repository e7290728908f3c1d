"""The write gate on a SQLite file spans processes (the web worker journals, its child process
processes): what one process holds, another one sees and waits for."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from ctreflex.inbound import gate
from tests.conftest import read_line_within, use_database

pytestmark = pytest.mark.skipif(gate.fcntl is None, reason="the gate needs fcntl.flock")

HOLDER = """
import sys
from ctreflex.inbound.gate import write_gate
with getattr(write_gate, sys.argv[1])():
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
sys.stdin.readline()  # stays alive after the release, until the test closes stdin
"""


@pytest.fixture
def sqlite_file(tmp_path, monkeypatch):
    """The gate needs only the database's path (the lock files sit beside it)."""
    monkeypatch.delenv("CTREFLEX_PROCESSOR", raising=False)
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'gate.db'}")
    yield tmp_path / "gate.db"
    from ctreflex import db

    db.reset_engine()


class Holder:
    """Another process holding write_gate.journal() or .processing() until told to let go."""

    def __init__(self, what: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, what],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._line() == "held"

    def _line(self) -> str:
        return read_line_within(self.proc.stdout, 10)

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self._line() == "released"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _in_thread(cm_factory) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Enter cm_factory() in a thread; `entered` is set inside, `leave` lets it go."""
    entered, leave = threading.Event(), threading.Event()

    def run():
        with cm_factory():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return entered, leave, thread


def test_a_journal_write_in_another_process_is_seen_as_waiting(sqlite_file):
    assert gate.write_gate.journal_waiting() is False
    holder = Holder("journal")
    try:
        assert gate.write_gate.journal_waiting() is True
        assert gate.write_gate.journal_waiting() is True  # asking does not take it away
        holder.release()
        # released, the other process still alive: nobody waits any more
        assert holder.proc.poll() is None
        assert gate.write_gate.journal_waiting() is False
    finally:
        holder.close()
    assert holder.proc.returncode == 0


def test_processing_waits_for_another_process_journal(sqlite_file):
    holder = Holder("journal")
    try:
        entered, leave, thread = _in_thread(gate.write_gate.processing)
        assert not entered.wait(0.5), "processing ran while another process journaled"
        holder.release()
        assert entered.wait(5), "processing did not get its turn after the journal"
        leave.set()
        thread.join(5)
    finally:
        holder.close()


def test_the_journal_waits_for_another_process_processing(sqlite_file):
    """One writer at a time across processes: the worker's journal write does not start while
    the child is in its write turn, and starts at once when it ends."""
    holder = Holder("processing")
    try:
        # while the journal waits for the turn, the other process sees it waiting
        entered, leave, thread = _in_thread(gate.write_gate.journal)
        assert not entered.wait(0.5), "the journal wrote while another process held the turn"
        holder.release()
        started = time.monotonic()
        assert entered.wait(5), "the journal did not get its turn"
        assert time.monotonic() - started < 1
        leave.set()
        thread.join(5)
        assert gate.write_gate.journal_waiting() is False
    finally:
        holder.close()


PROBE = """
import sys
from ctreflex.inbound.gate import write_gate
for _ in sys.stdin:
    print(write_gate.journal_waiting(), flush=True)
"""


def test_the_other_process_sees_this_process_journal_waiting(sqlite_file):
    """The direction the processor child relies on: the worker's journal, waiting for the
    child's turn, is visible to the child (which then commits and steps aside)."""
    probe = subprocess.Popen([sys.executable, "-c", PROBE],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask() -> str:
        probe.stdin.write("?\n")
        probe.stdin.flush()
        return read_line_within(probe.stdout, 10)

    try:
        assert ask() == "False"
        entered, leave, thread = _in_thread(gate.write_gate.journal)
        assert entered.wait(5)
        try:
            assert ask() == "True"
        finally:
            leave.set()
            thread.join(5)
        assert ask() == "False"
    finally:
        probe.stdin.close()
        probe.wait(10)
