"""The webhook processor in a child process of the web worker.

Why: in one process, HTTP handling and processing share one GIL, so the webhook's 200s and
the rows behind them compete for one core. The child has its own interpreter; the web worker
only journals bodies and answers.

How they talk, over the child's standard streams:
- worker -> child, stdin: one line per journal commit ("there is work"); EOF means the worker
  is gone (stopped, crashed or killed with -9): the child finishes its transaction and exits,
  so no orphan keeps running;
- child -> worker, stdout: one JSON line per turn of its loop, the list of live events
  published (after their commit); the worker publishes each to its tabs. With Redis
  configured the child publishes to Redis itself.

The journal is the only hand-over of data: a child that dies loses nothing, the next one
(started again after a second) takes the due events in id order.

Buys: webhook 200s/s 2,588 -> 3,945 and persisted 2,295 -> 3,521/s (docs/PERFORMANCE.md,
"processor in a child process"); at nice 19, +12 % accepted and p99 50 -> 26 ms. Guarded by
tests/unit/test_processor_child.py (relays, survives kill -9, no orphan when the worker dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys

from ctreflex.inbound.gc_tuning import tune_gc
from ctreflex.realtime import broker, redis_url

log = logging.getLogger("ctreflex.processor")

RESTART_DELAY = 1.0
PROCESSOR_NICE = 19


class ChildProcessor:
    """Worker side: start the child, wake it, publish what it relays, restart it if it dies.

    Plain subprocess.Popen plus asyncio pipes (not asyncio's subprocess API, whose exit watcher
    depends on the thread the loop runs in); waits for the exit happen in a thread."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopping = False
        self._started = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    async def start(self) -> None:
        self._stopping = False
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        await asyncio.wait_for(self._started.wait(), timeout=30)

    def notify(self) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.closed:
            return  # the child is (re)starting; it processes what is due when it starts
        # BlockingIOError: it has wake-ups queued already; BrokenPipeError: it is gone and is
        # started again (and then takes what is due)
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(proc.stdin.fileno(), b"\n")

    async def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.stdin.close()  # EOF: the child finishes its run and exits
            try:
                await asyncio.to_thread(proc.wait, 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            proc = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            os.set_blocking(proc.stdin.fileno(), False)
            self._proc = proc
            reader = asyncio.StreamReader(limit=1 << 20)
            transport, _ = await loop.connect_read_pipe(
                lambda reader=reader: asyncio.StreamReaderProtocol(reader), proc.stdout
            )
            self._started.set()
            try:
                await self._relay(reader)
            finally:
                transport.close()
            code = await asyncio.to_thread(proc.wait)
            await asyncio.to_thread(_free_lease_of, proc.pid)
            if self._stopping:
                return
            log.error("the webhook processor exited (code %s); starting it again", code)
            await asyncio.sleep(RESTART_DELAY)

    async def _relay(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            try:
                events = json.loads(line)  # the events of one loop turn: a list of objects
                events = [(int(e.pop("account_id")), e)
                          for e in (events if isinstance(events, list) else [events])]
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("the processor sent a line that is not an event: %r", line[:200])
                continue
            for account_id, event in events:
                await broker.publish(account_id, event)


def _free_lease_of(pid: int) -> None:
    """The child exited (even killed with -9): if it led, free the processor lease at once, so
    its successor (or another worker's processor) need not wait for the lease to expire."""
    import socket

    from ctreflex import db
    from ctreflex.services import jobs

    try:
        with db.session_scope() as session:
            jobs.release_process(session=session, name=jobs.PROCESSOR_LEASE,
                                 host=socket.gethostname(), pid=pid)
    except Exception:  # noqa: BLE001 - the lease then expires on its own
        log.warning("could not free the processor lease of a child that exited", exc_info=True)


async def _child_main() -> None:
    # imported here, in the child only: the worker side of this module stays light
    from ctreflex.inbound.processor import processor
    from ctreflex.services import graph, sms

    if hasattr(os, "nice"):
        # Below the web worker: under a burst the 200s to Meta come first and processing
        # takes the CPU left (bench/ingest.py: +12 % accepted, p99 50 -> 26 ms at nice 19).
        os.nice(PROCESSOR_NICE)
    relay = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt the relay
    loop = asyncio.get_running_loop()
    if not redis_url():
        # One line per turn of the loop (a commit's events), not per event: one write here
        # and one read, one json.loads in the web worker, whose CPU the 200s need.
        pending: list[dict] = []

        def flush() -> None:
            if pending:
                data = memoryview(json.dumps(pending).encode() + b"\n")
                pending.clear()
                while data:  # a pipe may take a long line in parts
                    data = data[relay.write(data) :]

        def send(account_id: int, event: dict) -> None:
            if not pending:
                loop.call_soon(flush)
            pending.append({**event, "account_id": account_id})

        broker.set_relay(send)

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    processor.start()
    processor.notify()  # what the journal holds already (also what a crash left behind)
    try:
        while await reader.readline():
            processor.notify()
    finally:  # EOF: the web worker is gone
        await processor.stop()
        await graph.close_all()
        await sms.close_all()


def main() -> None:
    tune_gc()  # as the web worker does: fewer, shorter collections
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s (processor): %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_child_main())


if __name__ == "__main__":
    main()
