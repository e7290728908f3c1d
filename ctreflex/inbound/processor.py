"""The processor: turns journaled webhook events (WhatsApp and SMS) into rows, in order, off
the request path; publishes live events after each commit; fetches inbound media (Graph API
or the SMS provider, by the number's channel).

One processor per deployment works at a time. Every web worker has one (in its child process,
inbound/child.py), but only the holder of the "processor" lease (a row in the database, the
same mechanism as the scheduler's, renewed every LEASE_RENEW seconds, taken over LEASE_TTL
after its holder died) processes the journal: no two processors ever take the same events, so
no unique-violation or deadlock fallbacks, no duplicate work, and events go in id order (so in
order per conversation). A webhook journaled by another worker wakes the leader: on
PostgreSQL that worker's processor sends `NOTIFY ctreflex_journal` and the leader LISTENs; on
SQLite (one machine) the leader also looks every IDLE_POLL seconds.

Buys: processing never holds the 200 (webhook 200s/s 2,588 -> 3,945 with the child, and the
lazy write turn moved p99 to 26 ms: docs/PERFORMANCE.md). Guarded by
tests/scale/test_leases.py (one leader, take-over), tests/unit/test_inbound_sms_replay.py and
tests/security/test_hostile_webhooks.py (an event that kills the processor is parked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

from sqlmodel import Session, select

from ctreflex import db, livetrace
from ctreflex.inbound import dispatch, journal, lifecycle
from ctreflex.inbound import sms as inbound_sms
from ctreflex.inbound.gate import write_gate
from ctreflex.inbound.lifecycle import Outcome
from ctreflex.models import BusinessNumber, MediaFile, Message
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import graph, media
from ctreflex.whatsapp import MEDIA_RULES, GraphError

log = logging.getLogger("ctreflex.processor")


CHUNK_SECONDS = 0.05  # longest a processing transaction holds the write gate when unasked
LEASE_TTL = 10.0  # a dead leader's lease is free after this
LEASE_RENEW = 2.0
IDLE_POLL = 1.0  # the longest the leader waits without a wake-up before looking at the journal
NOTIFY_CHANNEL = "ctreflex_journal"


def process_due(limit: int = 500, careful: bool = False) -> tuple[int, Outcome]:
    """Process up to `limit` due events (synchronous; run in a thread). Returns how many were
    taken and what to publish (only what is committed).

    Events go in id order, in transactions of many events (one commit each, a savepoint per
    event), each holding the write gate until the journal writer asks for it or CHUNK_SECONDS
    pass: the webhook's 200 never waits behind a long batch. `careful`: see process_carefully.
    """
    if careful:
        return process_carefully(limit)
    total = Outcome()
    taken = 0
    with db.session_scope() as session:
        ids = journal.due_event_ids(session=session, limit=limit)
        session.rollback()  # end the read transaction: each chunk starts fresh
        while taken < len(ids):
            session.expire_all()  # rows the UI or another worker changed since: read afresh
            with _LazyTurn() as turn:
                deadline = time.monotonic() + CHUNK_SECONDS

                def stop(deadline=deadline) -> bool:
                    return write_gate.journal_waiting() or time.monotonic() > deadline

                outcome = dispatch.process_events(session=session, event_ids=ids[taken:],
                                                stop=stop, before_write=turn.take)
            taken += outcome.taken
            total.add(outcome)
    total.live = _coalesce(total.live)
    return len(ids), total


def process_carefully(limit: int = 500) -> tuple[int, Outcome]:
    """The first batch after the processor starts. Whatever was being processed when a previous
    processor died (killed, out of memory, a crash in a C extension) is among the first due
    events, and may be what killed it: here each event's try is counted and committed BEFORE it
    is processed, one event per transaction, so an event that kills the processor every time
    is parked as dead after its bounded tries instead of stopping everything behind it, across
    every restart. Costs one more commit per event, for one batch per start."""
    total = Outcome()
    with db.session_scope() as session:
        ids = journal.due_event_ids(session=session, limit=limit)
        session.rollback()
        for event_id in ids:
            session.expire_all()
            with write_gate.processing():
                if not lifecycle.count_try_first(session, event_id):
                    continue  # parked (or no longer due)
                outcome = dispatch.process_events(session=session, event_ids=[event_id])
            total.add(outcome)
    total.live = _coalesce(total.live)
    return len(ids), total


class _LazyTurn:
    """The processor's turn at the write gate, taken at the first write (`take`) and kept until
    the transaction has committed (the end of the with block)."""

    def __init__(self) -> None:
        self._held: contextlib.AbstractContextManager | None = None

    def take(self) -> None:
        if self._held is None:
            self._held = write_gate.processing()
            self._held.__enter__()

    def __enter__(self) -> _LazyTurn:
        return self

    def __exit__(self, *exc) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            held.__exit__(*exc)


def _coalesce(live: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    seen: set[tuple] = set()
    out = []
    for account_id, event in live:
        key = (account_id, frozenset(event.items()))  # equal whatever the keys' order
        if key not in seen:
            seen.add(key)
            out.append((account_id, event))
    return out


async def publish(live: list[tuple[int, dict]]) -> None:
    for account_id, event in live:
        await broker.publish(account_id, event)


async def fetch_media(media_id: int) -> None:
    """Fetch an inbound file by the channel of the number it came to (FETCHERS)."""
    with db.session_scope() as session:
        row = _media_and_number(session, media_id)
        channel = row[1].channel if row is not None else None
    fetch = FETCHERS.get(channel)
    if fetch is not None:
        await fetch(media_id)


async def fetch_whatsapp_media(media_id: int) -> None:
    """Fetch an inbound file: media id -> URL -> bytes with the bearer token; check the hash
    and the limits; store it. A failure is recorded on the file for the retention/replay job."""
    with db.session_scope() as session:
        row = _media_and_number(session, media_id)
        if row is None:
            return
        mf, number, conversation_id = row
        provider_id, kind, expected = mf.provider_media_id, mf.kind, mf.sha256
        account_id = mf.account_id
    rule = MEDIA_RULES.get(kind)
    error = ""
    data = b""
    try:
        client = graph.client_for(number)
        info = await client.get_media(provider_id, phone_number_id=number.phone_number_id)
        limit = rule.max_bytes if rule else None
        if limit and info.file_size and int(info.file_size) > limit:
            error = f"The customer's file is larger than the {rule.max_mb} MB limit."
        else:
            data = await client.download_media(info.url, max_bytes=limit)
            if not media.sha256_matches(expected, data):
                error = "The file received does not match its checksum; ask for it again."
    except GraphError as exc:
        error = f"Could not download the file from WhatsApp: {exc}"
    except Exception as exc:  # noqa: BLE001 - recorded, retried by the media job
        error = f"Could not download the file: {exc.__class__.__name__}: {exc}"
    with db.session_scope() as session:
        mf = session.get(MediaFile, media_id)
        if error:
            mf.state = "failed"
            mf.fetch_error = error[:1000]
            session.add(mf)
        else:
            media.store_bytes(session=session, media=mf, data=data)
    await broker.publish(
        account_id, LiveEvent.media(conversation_id, media_id)
    )


def _media_and_number(session: Session, media_id: int):
    row = session.exec(
        select(MediaFile, BusinessNumber, Message.conversation_id)
        .join(Message, Message.media_id == MediaFile.id)
        .join(BusinessNumber, BusinessNumber.id == Message.business_number_id)
        .where(MediaFile.id == media_id)
    ).first()
    return row


FETCHERS = {"whatsapp": fetch_whatsapp_media, "sms": inbound_sms.fetch_mms_media}


class _JournalListener:
    """PostgreSQL only: a thread LISTENing on NOTIFY_CHANNEL that calls `wake()` for each
    notification (another worker journaled a webhook). Reconnects after an error."""

    def __init__(self, url: str, wake) -> None:
        self._url = url
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake()
            except Exception:  # noqa: BLE001 - the database went away: try again
                log.warning("journal listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(1.0)


def _psycopg_url() -> str | None:
    """The database URL for a plain psycopg connection, when the database is PostgreSQL."""
    engine = db.get_engine()
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _notify_leader() -> None:
    with db.get_engine().connect() as conn:
        conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")
        conn.commit()


class Processor:
    """Runs in this process (`start`), or hands the work to a child process (`start_child`,
    ctreflex/inbound/child.py) and relays its live events to this process's tabs.

    `holder`: the lease holder id (default: this process's, `jobs.holder()`); tests give two
    processors in one process different ids."""

    def __init__(self, holder: str | None = None) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._media_tasks: set[asyncio.Task] = set()
        self._child = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._careful = True  # the first batch after a start: see process_carefully
        self._holder = holder
        self.is_leader = False
        self._lease_checked = 0.0  # monotonic time of the last take/renew
        self._local_wake = False  # a webhook was journaled by this process's worker
        self._listener: _JournalListener | None = None
        self._batch: asyncio.Future | None = None  # the batch running in its thread, if any
        self.stats = {"batches": 0, "events": 0, "notified_leader": 0, "leader_changes": 0}

    @property
    def holder(self) -> str:
        from ctreflex.services import jobs

        return self._holder or jobs.holder()

    def _take_lease(self) -> bool:
        from ctreflex.services import jobs

        # the write gate: on SQLite this small write never makes a journal write wait
        with write_gate.processing(), db.session_scope() as session:
            return jobs.acquire(
                session=session, name=jobs.PROCESSOR_LEASE, holder=self.holder, ttl=LEASE_TTL
            )

    async def lead(self, *, force: bool = False) -> bool:
        """Take or renew the processor lease when due; True while this processor leads."""
        now = time.monotonic()
        if not force and now - self._lease_checked < LEASE_RENEW:
            return self.is_leader
        try:
            leader = await asyncio.to_thread(self._take_lease)
        except Exception:  # noqa: BLE001 - the database may be briefly away
            log.exception("could not renew the processor lease")
            leader = False
        self._lease_checked = time.monotonic()
        if leader != self.is_leader:
            self.stats["leader_changes"] += 1
            log.info("processor %s: %s", self.holder, "processing" if leader else "standing by")
            if leader:
                self._careful = True  # what the last leader was doing may be what killed it
        self.is_leader = leader
        return leader

    def _release_lease(self) -> None:
        from ctreflex.services import jobs

        with contextlib.suppress(Exception), db.session_scope() as session:
            jobs.release(session=session, name=jobs.PROCESSOR_LEASE, holder=self.holder)

    @property
    def started(self) -> bool:
        """start() or start_child() was called and stop() not yet (/readyz expects it to run)."""
        return self._child is not None or self._task is not None

    @property
    def running(self) -> bool:
        if self._child is not None:
            return self._child.running
        return self._task is not None and not self._task.done()

    def notify(self) -> None:
        """Wake the processor; callable from any thread (sync routes run in a thread pool)."""
        if self._child is not None:
            self._child.notify()
            return
        self._local_wake = True
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def start_child(self) -> None:
        from ctreflex.inbound.child import ChildProcessor

        self._child = ChildProcessor()
        await self._child.start()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._wake = asyncio.Event()  # bound to this loop (tests run several loops)
            self._careful = True
            self._loop = asyncio.get_running_loop()
            self._lease_checked = 0.0
            url = _psycopg_url()
            if url is not None and self._listener is None:
                loop = self._loop
                wake = self._wake

                def remote_wake(loop=loop, wake=wake) -> None:
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        loop.call_soon_threadsafe(wake.set)

                self._listener = _JournalListener(url, remote_wake)
                self._listener.start()
            self._wake.set()  # take the lease and what the journal holds at once
            self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        if self._child is not None:
            child, self._child = self._child, None
            await child.stop()
        if self._task is not None:
            # The flag, not only the cancel: Python 3.11's wait_for swallows a cancel that
            # arrives together with a wake-up, and the loop would go on forever.
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        batch, self._batch = self._batch, None
        if batch is not None:
            # a batch still writing in its thread: while it runs this processor still leads;
            # freeing the lease now would let another worker's processor take the same rows
            # (a kill -9 of the web worker showed it: a deadlock, the fast path giving way)
            with contextlib.suppress(Exception):
                await batch
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self.is_leader:
            await asyncio.to_thread(self._release_lease)  # the next one need not wait LEASE_TTL
            self.is_leader = False

    async def drain(self, *, leased: bool = False) -> int:
        """Process until nothing is due; returns the number of live events published.
        `leased`: stop as soon as this processor no longer holds the lease."""
        published = 0
        while True:
            if leased and not await self.lead():
                return published
            # shielded: a stop() cancels this coroutine, not the batch; the thread cannot be
            # stopped anyway, and stop() waits for it before giving the lease away
            self._batch = asyncio.ensure_future(
                asyncio.to_thread(process_due, 500, self._careful)
            )
            taken, outcome = await asyncio.shield(self._batch)
            self._batch = None  # written and returned: nothing for stop() to wait for
            self._careful = False
            if not taken:
                return published
            self.stats["batches"] += 1
            self.stats["events"] += taken
            if livetrace.enabled():  # bench/live.py's breakdown: committed, now published
                livetrace.mark("commit", m=livetrace.message_ids(e for _, e in outcome.live))
            await publish(outcome.live)
            published += len(outcome.live)
            for media_id in outcome.media_to_fetch:
                task = asyncio.get_running_loop().create_task(fetch_media(media_id))
                self._media_tasks.add(task)
                task.add_done_callback(self._media_tasks.discard)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL)
            self._wake.clear()
            local, self._local_wake = self._local_wake, False
            try:
                if not await self.lead():
                    if local and self._listener is not None:
                        # another worker's processor leads: wake it (PostgreSQL NOTIFY)
                        await asyncio.to_thread(_notify_leader)
                        self.stats["notified_leader"] += 1
                    continue
                await self.drain(leased=True)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the events stay in the journal
                log.exception("webhook processing failed; events stay in the journal")
                await asyncio.sleep(1)


processor = Processor()
