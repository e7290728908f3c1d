"""Webhook ingest that loses nothing.

The route writes the raw body to the journal (WebhookEvent) before it answers 200; then
`process_event` turns it into rows. Every step is idempotent: a message is stored once per
wamid, statuses only move forward (sent < delivered < read; failed is terminal), a reaction
or a status that arrives before its message waits for it. A failure leaves the event in the
journal with its error; it is tried again with backoff a bounded number of times
(RETRY_DELAYS), then parked as dead with its reason for an admin's Retry or Discard, and the
events after it go on. A body that cannot be parsed (not JSON, nested too deep, NaN, too large)
is rejected at once; a bad part of a body (a malformed message, a change for a number its WABA
does not own) is recorded while the rest of the body is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: the gate is then per process only
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, or_, select

from ctreflex import db
from ctreflex.models import (
    STATUS_RANK,
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    Template,
    UsageRecord,
    WebhookEvent,
    utc_now,
)
from ctreflex.models.ops import EventState
from ctreflex.services import optouts, phones
from ctreflex.services import status as team_status
from ctreflex.whatsapp import InboundMessage, MessagesValue, Status, parse_webhook
from ctreflex.whatsapp.limits import inbound_support
from ctreflex.whatsapp.webhooks import TemplateStatusUpdate, WebhookParseError, clean_text

log = logging.getLogger("ctreflex.ingest")

WINDOW = dt.timedelta(hours=24)
# Seconds before the next try: 5 tries over about 30 minutes, then the event is parked as dead.
RETRY_DELAYS = [2, 30, 240, 1500]


class Deferred(Exception):
    """Something this event needs has not arrived yet (e.g. a status before its message)."""


class Refused(Exception):
    """The event cannot be accepted for this account (unknown number, plan without WhatsApp)."""


@dataclasses.dataclass
class Outcome:
    """What processing produced: live events to publish and media to fetch."""

    live: list[tuple[int, dict]] = dataclasses.field(default_factory=list)
    media_to_fetch: list[int] = dataclasses.field(default_factory=list)
    taken: int = 0  # process_events: how many of the ids it went through
    problems: list[str] = dataclasses.field(default_factory=list)  # parts refused, kept going
    deferred: list[str] = dataclasses.field(default_factory=list)  # parts waiting (retried)


# ------------------------------------------------------------------------------ the journal


def body_text(body: bytes) -> str:
    """The body as stored: UTF-8 with replacement, NUL as U+FFFD (PostgreSQL's text refuses
    NUL; a JSON body cannot hold one, so a parseable body is stored exactly)."""
    text = body.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def journal(*, session: Session, provider: str, body: bytes, commit: bool = True) -> WebhookEvent:
    event = WebhookEvent(
        provider=provider,
        body=body_text(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    session.add(event)
    if commit:
        session.commit()
    return event


def journal_many(*, session: Session, provider: str, bodies: list[bytes]) -> list[int]:
    """Journal several bodies in one INSERT and one COMMIT (group commit); ids in body order."""
    if not bodies:
        return []
    now = utc_now()
    rows = [
        {
            "provider": provider,
            "received_at": now,
            "body": body_text(b),
            "body_sha256": hashlib.sha256(b).hexdigest(),
            "state": "pending",
            "kind": "",
            "attempts": 0,
            "error": "",
        }
        for b in bodies
    ]
    ids = session.execute(
        insert(WebhookEvent).returning(WebhookEvent.id, sort_by_parameter_order=True), rows
    ).scalars().all()
    session.commit()
    return list(ids)


_JOURNAL_INSERT = (
    "INSERT INTO webhookevent (provider, received_at, body, body_sha256, state, kind, attempts,"
    " error) VALUES (?, ?, ?, ?, 'pending', '', 0, '')"
)


def journal_bodies(*, provider: str, bodies: list[bytes]) -> list[int]:
    """Journal several bodies in one transaction and one commit; ids in body order.

    On SQLite this is the webhook's hot path, so it speaks the driver directly (one
    executemany, a quarter of the ORM's cost per row): inside BEGIN IMMEDIATE this connection
    is the only writer, so the new rows take the ids after the current largest, in order;
    that is checked against last_insert_rowid() before the commit. Elsewhere: journal_many."""
    if not bodies:
        return []
    engine = db.get_engine()
    if engine.dialect.name != "sqlite":
        with db.session_scope() as session:
            return journal_many(session=session, provider=provider, bodies=bodies)
    received_at = _sqlite_datetime(engine.dialect)(utc_now().replace(tzinfo=None))
    rows = [
        (provider, received_at, body_text(b), hashlib.sha256(b).hexdigest())
        for b in bodies
    ]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # Never checkpoint the WAL on the webhook's path (a checkpoint copies pages and syncs:
        # tens of ms on the 200): the processor's and the app's other commits do it.
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.execute("BEGIN IMMEDIATE")
        try:
            first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM webhookevent").fetchone()[0]
            cur.executemany(_JOURNAL_INSERT, rows)
            last = cur.execute("SELECT last_insert_rowid()").fetchone()[0]
            if last != first + len(rows) - 1:
                raise RuntimeError(f"journal ids not consecutive: {first}..{last}")
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            cur.close()
    finally:
        raw.close()
    return list(range(first, first + len(rows)))


@functools.cache
def _sqlite_datetime(dialect):
    """SQLAlchemy's own storage format for a naive UTC datetime on SQLite."""
    from sqlalchemy.dialects.sqlite import DATETIME

    return DATETIME().bind_processor(dialect)


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


def due_event_ids(
    *, session: Session, now: dt.datetime | None = None, limit: int = 500
) -> list[int]:
    now = now or utc_now()
    return list(
        session.exec(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.provider == "whatsapp",  # SMS events: ctreflex/services/sms.py
                or_(
                    WebhookEvent.state == "pending",
                    (WebhookEvent.state == "retry") & (WebhookEvent.next_attempt_at <= now),
                )
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        ).all()
    )


def process_event(*, session: Session, event_id: int, now: dt.datetime | None = None) -> Outcome:
    """Process one journaled event and commit; its state records the result. Never raises for
    bad data."""
    return process_events(session=session, event_ids=[event_id], now=now)


def process_events(
    *,
    session: Session,
    event_ids: list[int],
    now: dt.datetime | None = None,
    stop: Callable[[], bool] | None = None,
    before_write: Callable[[], None] | None = None,
) -> Outcome:
    """Process events in id order in ONE transaction, each inside its own savepoint (a failing
    event rolls back alone and records its error), then commit once. Live events and media to
    fetch are returned only for what was committed. `stop()` is asked between events; when it
    says so, the events left are not taken (they stay pending for the next call).
    `before_write()` is called before anything is written (the processor takes its turn at
    the write gate there, so the reads and parsing before it do not keep the journal out)."""
    now = now or utc_now()
    before_write = before_write or (lambda: None)
    total = Outcome()
    cache = BatchCache()
    pos = 0
    slow_until = 0  # ids before this index go through the per-event path
    while pos < len(event_ids):
        if pos and stop is not None and stop():
            break
        done = 0
        if pos >= slow_until and fast_path_enabled:
            try:
                done = _process_fast(session, event_ids[pos : pos + FAST_CHUNK], now, cache,
                                     total, before_write)
            except _FastPathFailed as exc:  # rolled back: the per-event path takes them
                log.info("fast path gave way to the per-event path: %s", exc)
                cache.rolled_back()
                slow_until = pos + exc.count
            except Exception as exc:  # noqa: BLE001 - a look-up failed: the per-event path
                log.warning("fast path look-ups failed: %s: %s", exc.__class__.__name__, exc)
                cache.rolled_back()
                slow_until = pos + FAST_CHUNK
        if not done:
            before_write()
            try:
                outcome = _process_one(session, event_ids[pos], now, cache)
            except Exception as exc:  # noqa: BLE001 - escaped the event's savepoint
                # This transaction is undone (its events stay due and come next time); the
                # failing event alone counts a try, so it is parked after the bounded retries
                # instead of stopping every event behind it.
                log.exception("webhook event %s failed outside its savepoint", event_ids[pos])
                session.rollback()
                cache.rolled_back()
                _count_failure(session, event_ids[pos], exc, now)
                return Outcome(taken=pos + 1)
            total.live.extend(outcome.live)
            total.media_to_fetch.extend(outcome.media_to_fetch)
            done = 1
        pos += done
        total.taken = pos
    session.commit()
    return total


# ---------------------------------------------------------------------------- the fast path
#
# The common case, set-based: a run of consecutive events that each hold only plain inbound
# text messages (to a known number, from a contact with a conversation, replying to nothing
# or to a stored message, not awaited by a reaction) and statuses of stored messages of the
# same account. Per run: one SELECT of the events, one of the wamids already stored (and the
# quoted ones), one of the statuses' messages, one of the contacts, one of the conversations,
# one of the reactions waiting; one multi-row INSERT ... RETURNING of the messages, one of the
# usage records, one UPDATE per touched conversation and contact, one executemany UPDATE of
# the events. The run stops at the first event that is anything else; that event goes through
# `_process_one` (savepoint, deferral, refusal, media, reactions, opt-outs ...) and the next
# run starts after it. Everything happens inside one savepoint: any error rolls the whole run
# back and the per-event path takes those events one by one, so the guarantees are the same.

FAST_CHUNK = 64  # events looked at per run (bounds how long the journal may wait for the gate)
fast_path_enabled = True  # tests and benches may switch it off to compare


class _FastPathFailed(Exception):
    def __init__(self, count: int, reason: str):
        super().__init__(reason)
        self.count = count


@dataclasses.dataclass
class _FastEvent:
    id: int
    attempts: int
    number: BusinessNumber | None = None
    account: Account | None = None
    plan: Plan | None = None
    value: MessagesValue | None = None
    skip: bool = False  # already done / rejected / unhandled: nothing to do


def _fast_candidate(session: Session, row, cache: BatchCache) -> _FastEvent | None:
    """The event parsed, if its shape fits the fast path (no DB writes here)."""
    event_id, state, body, attempts = row
    fe = _FastEvent(id=event_id, attempts=attempts)
    if state not in (EventState.PENDING, EventState.RETRY):
        fe.skip = True
        return fe
    try:
        payload = parse_webhook(body)
    except Exception:  # noqa: BLE001 - the per-event path records why
        return None
    if payload.problems:
        return None  # the per-event path keeps the good parts and records the bad ones
    changes = [(e, c) for e in payload.entry for c in e.changes]
    if len(changes) != 1 or changes[0][1].field != "messages":
        return None
    entry, change = changes[0]
    value = change.value
    if not isinstance(value, MessagesValue) or value.errors:
        return None
    if not value.messages and not value.statuses:
        return None
    for msg in value.messages:
        if msg.type != "text" or not msg.id or not msg.from_:
            return None
        if optouts.whatsapp_keyword(msg.text.body if msg.text else ""):
            return None  # STOP / START: the per-event path records the opt-out
    for st in value.statuses:
        if not st.id:
            return None
    try:
        fe.number, fe.account, fe.plan = _number_for(session, value, cache.routing, entry.id)
    except Refused:
        return None
    fe.value = value
    return fe


def _process_fast(
    session: Session,
    ids: list[int],
    now: dt.datetime,
    cache: BatchCache,
    total: Outcome,
    before_write: Callable[[], None] = lambda: None,
) -> int:
    """Process the longest run of fast-path events at the start of `ids`; returns how many
    events it went through (0: the first one needs the per-event path)."""
    rows = session.execute(
        select(WebhookEvent.id, WebhookEvent.state, WebhookEvent.body, WebhookEvent.attempts)
        .where(WebhookEvent.id.in_(ids))
    ).all()
    by_id = {r[0]: r for r in rows}
    events: list[_FastEvent] = []
    for event_id in ids:
        row = by_id.get(event_id)
        if row is None:
            break
        fe = _fast_candidate(session, row, cache)
        if fe is None:
            break
        events.append(fe)
    if not events:
        return 0

    # Bulk look-ups for everything the run refers to.
    inbound = [m for fe in events if fe.value for m in fe.value.messages]
    wamids = {m.id for m in inbound} | {m.reply_to_id for m in inbound if m.reply_to_id}
    known: dict[str, int] = {}
    for chunk in _chunks(sorted(wamids)):
        known.update(
            (wamid, mid)
            for mid, wamid in session.execute(
                select(Message.id, Message.provider_message_id).where(
                    Message.provider_message_id.in_(chunk)
                )
            ).all()
        )
    waiting: set[str] = set()
    new_wamids = sorted({m.id for m in inbound} - known.keys())
    for chunk in _chunks(new_wamids):
        waiting.update(
            session.exec(
                select(Message.reply_to_provider_id).where(
                    Message.reply_to_provider_id.in_(chunk),
                    Message.kind == "reaction",
                    Message.reply_to_id.is_(None),
                )
            ).all()
        )
    status_wamids = sorted({st.id for fe in events if fe.value for st in fe.value.statuses})
    targets: dict[str, Message] = {}
    for chunk in _chunks(status_wamids):
        targets.update(
            (m.provider_message_id, m)
            for m in session.exec(
                select(Message).where(Message.provider_message_id.in_(chunk))
            ).all()
        )
    keys = {(fe.account.id, _e164_region(m.from_)[0]) for fe in events if fe.value
            for m in fe.value.messages}
    contacts: dict[tuple[int, str], Contact] = {}
    for account_id in {k[0] for k in keys}:
        e164s = sorted(k[1] for k in keys if k[0] == account_id)
        for chunk in _chunks(e164s):
            contacts.update(
                ((c.account_id, c.e164), c)
                for c in session.exec(
                    select(Contact).where(Contact.account_id == account_id, Contact.e164.in_(chunk))
                ).all()
            )
    conversations: dict[tuple[int, int], Conversation] = {}
    contact_ids = sorted({c.id for c in contacts.values()})
    for chunk in _chunks(contact_ids):
        conversations.update(
            ((c.account_id, c.contact_id), c)
            for c in session.exec(
                select(Conversation).where(Conversation.contact_id.in_(chunk))
            ).all()
        )

    # The run: events in order, up to the first one the look-ups say is not plain.
    run: list[_FastEvent] = []
    seen: set[str] = set()
    for fe in events:
        if fe.value is not None and not _fast_fits(fe, known, waiting, targets, contacts,
                                                   conversations, seen):
            break
        run.append(fe)
    if not run:
        return 0

    before_write()
    try:
        with session.begin_nested():
            live, event_rows = _write_fast_run(
                session, run, now, known, targets, contacts, conversations
            )
    except Exception as exc:  # noqa: BLE001 - the per-event path records what is wrong
        raise _FastPathFailed(len(run), f"{exc.__class__.__name__}: {exc}") from exc
    total.live.extend(live)
    return len(run)


def _fast_fits(fe, known, waiting, targets, contacts, conversations, seen) -> bool:
    account = fe.account
    for msg in fe.value.messages:
        if msg.id in known or msg.id in seen:
            continue  # a duplicate: nothing to store, like the per-event path
        if msg.reply_to_id and msg.reply_to_id not in known:
            return False  # quoted message unknown (or stored in this very run)
        if msg.id in waiting:
            return False  # a reaction waits for it
        contact = contacts.get((account.id, _e164_region(msg.from_)[0]))
        if contact is None or (account.id, contact.id) not in conversations:
            return False  # a new customer: the per-event path creates them
    for st in fe.value.statuses:
        target = targets.get(st.id)
        if target is None or target.account_id != account.id:
            return False  # deferred or refused: the per-event path records it
    seen.update(m.id for m in fe.value.messages)
    return True


def _write_fast_run(session, run, now, known, targets, contacts, conversations):
    live: list[tuple[int, dict]] = []
    messages: list[dict] = []
    meta: list[tuple[int, Conversation, Plan]] = []  # per message row: account, conv, plan
    event_rows: list[dict] = []
    stored: set[str] = set(known)
    touched: dict[int, list] = {}
    for fe in run:
        if fe.skip:
            continue
        value, account, number = fe.value, fe.account, fe.number
        for msg in value.messages:
            if msg.id in stored:
                continue
            stored.add(msg.id)
            profile = value.contact_for(msg.from_)
            profile_name = (profile.name if profile else None) or ""
            contact = contacts[(account.id, _e164_region(msg.from_)[0])]
            if profile_name and contact.profile_name != profile_name:
                contact.profile_name = profile_name
                contact.name = contact.name or profile_name
            if not contact.wa_id:
                contact.wa_id = msg.from_
            conv = conversations[(account.id, contact.id)]
            at = msg.timestamp_utc or now
            body = msg.text.body if msg.text else ""
            messages.append(
                {
                    "account_id": account.id,
                    "conversation_id": conv.id,
                    "business_number_id": number.id,
                    "direction": "inbound",
                    "channel": "whatsapp",
                    "kind": "text",
                    "body": body,
                    "provider_message_id": msg.id,
                    "status": "received",
                    "error_title": "",
                    "error_detail": "",
                    "reply_to_id": known.get(msg.reply_to_id) if msg.reply_to_id else None,
                    "reply_to_provider_id": msg.reply_to_id,
                    "reaction": "",
                    "pricing_category": "",
                    "created_at": at,
                }
            )
            meta.append((account.id, conv, fe.plan))
            agg = touched.get(conv.id)
            if agg is None:  # [conv, last_inbound_at, last_message_at, preview, number, unread]
                agg = touched[conv.id] = [conv, conv.last_inbound_at, conv.last_message_at,
                                          None, None, 0]
            if agg[1] is None or at > agg[1]:
                agg[1] = at
            if agg[2] is None or at >= agg[2]:
                agg[2], agg[3], agg[4] = at, (body or "Text")[:200], number.id
            agg[5] += 1
        for st in value.statuses:
            target = targets[st.id]
            if apply_status(target, st, st.timestamp_utc or now):
                live.append(
                    (
                        account.id,
                        {
                            "type": "status",
                            "conversation_id": target.conversation_id,
                            "message_id": target.id,
                        },
                    )
                )
    for conv, last_inbound, last_message, preview, number_id, unread in touched.values():
        if last_inbound != conv.last_inbound_at:
            conv.last_inbound_at = last_inbound
            conv.window_expires_at = last_inbound + WINDOW
        if preview is not None:
            conv.last_message_at = last_message
            conv.last_preview = preview
            conv.channel = "whatsapp"
            conv.business_number_id = number_id
        conv.unread_count += unread
        team_status.reopen_on_customer_message(session, conv, last_inbound)  # team inbox
    session.flush()  # contacts, conversations, statuses (ORM rows loaded above)
    conn = session.connection()  # Core, not the ORM's bulk machinery: these rows stay out
    if messages:  # of the identity map, like any row written by another transaction
        table = Message.__table__
        ids = conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), messages
        ).scalars().all()
        usage = []
        for row, message_id, (account_id, conv, plan) in zip(messages, ids, meta, strict=True):
            usage.append(
                {
                    "account_id": account_id,
                    "business_number_id": row["business_number_id"],
                    "message_id": message_id,
                    "channel": "whatsapp",
                    "direction": "inbound",
                    "day": row["created_at"].astimezone(dt.UTC).date(),
                    "fee_minor": plan.fee_minor,
                    "currency": plan.currency,
                    "meta_category": "",
                    "created_at": now,
                }
            )
            live.append(
                (
                    account_id,
                    {"type": "message", "conversation_id": conv.id, "message_id": message_id},
                )
            )
        conn.execute(UsageRecord.__table__.insert(), usage)
    for fe in run:
        if fe.skip:
            continue
        event_rows.append({"_id": fe.id, "_attempts": fe.attempts + 1, "_account": fe.account.id})
    if event_rows:
        table = WebhookEvent.__table__
        conn.execute(
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values(
                attempts=bindparam("_attempts"),
                account_id=bindparam("_account"),
                state="done",
                kind="messages",
                error="",
                processed_at=now,
                next_attempt_at=None,
            ),
            event_rows,
        )
        for row in event_rows:  # a copy this session holds (e.g. deferred earlier) is stale
            held = session.identity_map.get(identity_key(WebhookEvent, row["_id"]))
            if held is not None:
                session.expire(held)
    return live, event_rows


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


class BatchCache:
    """What one process_events call (one transaction) looks up once instead of per message."""

    def __init__(self) -> None:
        self.routing: dict[str, tuple[BusinessNumber, Account, Plan]] = {}
        # Target wamids of reactions stored without their message: loaded once per batch (the
        # column has no index, so the per-message query scanned the table), grown as reactions
        # are stored. Only ever a superset of the truth: a miss means "no query needed".
        self._waiting: set[str] | None = None

    def rolled_back(self) -> None:
        self.routing.clear()  # a savepoint rollback expired or expunged what it touched

    def may_have_waiting_reactions(self, session: Session, wamid: str | None) -> bool:
        if not wamid:
            return False
        if self._waiting is None:
            self._waiting = set(
                session.exec(
                    select(Message.reply_to_provider_id).where(
                        Message.kind == "reaction", Message.reply_to_id.is_(None)
                    )
                ).all()
            )
        return wamid in self._waiting

    def reaction_waits_for(self, wamid: str | None) -> None:
        if wamid and self._waiting is not None:
            self._waiting.add(wamid)


def _process_one(
    session: Session,
    event_id: int,
    now: dt.datetime,
    cache: BatchCache,
) -> Outcome:
    event = session.get(WebhookEvent, event_id)
    outcome = Outcome()
    if event is None or event.state not in (EventState.PENDING, EventState.RETRY):
        return outcome
    event.attempts += 1  # flushed by begin_nested below: survives the savepoint's rollback
    try:
        payload = parse_webhook(event.body)
    except WebhookParseError as exc:
        _finish(event, EventState.REJECTED, f"Malformed webhook: {exc}", now)
        return outcome
    except Exception as exc:  # noqa: BLE001 - whatever a body does to the parser, it is refused
        _finish(event, EventState.REJECTED,
                f"Malformed webhook: {exc.__class__.__name__}: {exc}", now)
        return outcome
    kinds = sorted({c.field for e in payload.entry for c in e.changes}) or ["empty"]
    handled = accepted = 0
    refused: list[str] = []
    deferred: list[str] = []
    try:
        with session.begin_nested():
            event.kind = ",".join(kinds)[:64]  # like the handler's changes: kept only on success
            for entry in payload.entry:
                for change in entry.changes:
                    handler = CHANGE_HANDLERS.get(change.field)
                    if handler is None:
                        continue
                    handled += 1
                    try:  # a Refused is raised before the handler writes anything
                        handler(session, event, entry.id, change.value, outcome, now,
                                cache=cache)
                    except Refused as exc:
                        refused.append(str(exc))
                    except Deferred as exc:  # this change waits for something; others go on
                        deferred.append(str(exc))
                    else:
                        accepted += 1
    except Exception as exc:  # noqa: BLE001 - tried again with backoff, then parked as dead
        cache.rolled_back()
        log.exception("webhook event %s failed", event_id)
        _defer(event, f"{exc.__class__.__name__}: {exc}", now)
        return Outcome()
    problems = refused + outcome.problems + [f"Left out {p}" for p in payload.problems]
    deferred += outcome.deferred
    outcome.problems, outcome.deferred = [], []
    if deferred:
        # What could be stored is kept and published (a retry skips it: one row per wamid,
        # statuses only move forward); the event is tried again for the parts that wait.
        _defer(event, "; ".join(deferred + problems), now)
        return outcome
    if handled and not accepted:
        _finish(event, EventState.REJECTED, "; ".join(problems), now)
    elif problems:
        _finish(event, EventState.PARTIAL, "; ".join(problems), now)
    elif handled:
        _finish(event, EventState.DONE, "", now)
    else:
        _finish(event, EventState.UNHANDLED, f"No handler for {event.kind}; kept as received.",
                now)
    return outcome


def _finish(event: WebhookEvent, state: str, error: str, now: dt.datetime) -> None:
    event.state = state
    event.error = clean_text(error)[:2000]  # a reason quoting the body stays storable
    event.processed_at = now
    event.next_attempt_at = None
    if error and state != EventState.DONE:
        event.last_error_at = now


def _defer(event: WebhookEvent, reason: str, now: dt.datetime) -> None:
    # After a savepoint rollback the event is reloaded as it was before the savepoint: with
    # this attempt counted, and without the kind/account the handler set.
    attempts = event.attempts
    reason = clean_text(reason)
    event.error = reason[:2000]
    event.last_error_at = now
    if attempts > len(RETRY_DELAYS):
        event.state = EventState.DEAD
        event.next_attempt_at = None
        event.error = f"Parked after {attempts} tries: {reason}"[:2000]
    else:
        event.state = EventState.RETRY
        event.next_attempt_at = now + dt.timedelta(seconds=RETRY_DELAYS[attempts - 1])


def count_try_first(session: Session, event_id: int, now: dt.datetime | None = None) -> bool:
    """Count a try of the event and COMMIT it before the event is processed (see
    processor.process_carefully): True when it may be processed now, False when it is no
    longer due, or had all its tries already (each one ended with the processor gone): then
    it is parked as dead here."""
    now = now or utc_now()
    event = session.get(WebhookEvent, event_id)
    if event is None or event.state not in (EventState.PENDING, EventState.RETRY):
        session.rollback()
        return False
    if event.attempts > len(RETRY_DELAYS):
        event.state = EventState.DEAD
        event.next_attempt_at = None
        event.last_error_at = now
        event.error = (f"Parked after {event.attempts} tries: the processor stopped while "
                       f"processing it. {event.error}")[:2000]
        session.commit()
        return False
    event.attempts += 1
    session.commit()
    event.attempts -= 1  # processing counts this try again: committed as the same number
    return True


def _count_failure(session: Session, event_id: int, exc: BaseException, now: dt.datetime) -> None:
    """An error that escaped the event's own handling (its transaction is rolled back): count
    the try on the event alone, in a transaction of its own, so it cannot come back forever."""
    event = session.get(WebhookEvent, event_id)
    if event is None or event.state not in (EventState.PENDING, EventState.RETRY):
        return
    event.attempts += 1
    _defer(event, f"{exc.__class__.__name__}: {exc}", now)
    session.commit()


# ------------------------------------------------------------------------- routing and plan


def _number_for(
    session: Session,
    value: MessagesValue,
    routing: dict[str, tuple[BusinessNumber, Account, Plan]] | None = None,
    waba_id: str | None = None,
) -> tuple[BusinessNumber, Account, Plan]:
    """number -> account -> plan, checked; `routing` caches it for one batch (one transaction,
    cleared whenever a savepoint rolls back). The entry's WABA (`waba_id`, the entry id) must
    be the one the number belongs to: a change naming another WABA's number is refused, never
    routed into that number's account."""
    pnid = value.metadata.phone_number_id
    if routing is not None and pnid in routing:
        number, account, plan = routing[pnid]
        _check_waba(number, waba_id)
        return number, account, plan
    row = session.exec(
        select(BusinessNumber, Account, Plan)
        .join(Account, Account.id == BusinessNumber.account_id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(BusinessNumber.phone_number_id == pnid)
    ).first()
    if row is None:
        raise Refused(f"No business number here has phone_number_id {pnid}.")
    number, account, plan = row
    _check_waba(number, waba_id)
    if not plan.whatsapp_included:
        raise Refused(f"{account.name}'s plan ({plan.name}) does not include WhatsApp.")
    if not account.early_access:
        raise Refused(f"{account.name} is not in the WhatsApp early access programme.")
    if routing is not None:
        routing[pnid] = (number, account, plan)
    return number, account, plan


def _check_waba(number: BusinessNumber, waba_id: str | None) -> None:
    if waba_id is not None and number.waba_id != waba_id:
        raise Refused(
            f"phone_number_id {number.phone_number_id} does not belong to WhatsApp Business "
            f"Account {waba_id}; refused."
        )


@functools.lru_cache(maxsize=4096)
def _e164_region(wa_id: str) -> tuple[str, str]:
    try:
        phone = phones.parse(wa_id)
        return phone.e164, phone.region
    except phones.InvalidPhoneNumber:
        return "+" + "".join(ch for ch in wa_id if ch.isdigit())[:18], ""


def _contact(session: Session, account: Account, wa_id: str, profile_name: str) -> Contact:
    e164, region = _e164_region(wa_id)
    contact = session.exec(
        select(Contact).where(Contact.account_id == account.id, Contact.e164 == e164)
    ).first()
    if contact is None:
        contact = Contact(
            account_id=account.id,
            e164=e164,
            region=region,
            wa_id=wa_id,
            profile_name=profile_name or "",
            name=profile_name or "",
        )
        session.add(contact)
        session.flush()
    else:
        if profile_name and contact.profile_name != profile_name:
            contact.profile_name = profile_name
            contact.name = contact.name or profile_name
        contact.wa_id = contact.wa_id or wa_id
    return contact


def conversation_for(
    session: Session, *, contact: Contact, number: BusinessNumber, channel: str
) -> Conversation:
    """The one conversation of this customer in this account (any channel); created on their
    first message, on the channel it came by."""
    conv = session.exec(
        select(Conversation).where(
            Conversation.account_id == contact.account_id, Conversation.contact_id == contact.id
        )
    ).first()
    if conv is None:
        conv = Conversation(
            account_id=contact.account_id,
            contact_id=contact.id,
            business_number_id=number.id,
            channel=channel,
        )
        session.add(conv)
        session.flush()
    return conv


def _by_wamid(session: Session, wamid: str | None) -> Message | None:
    if not wamid:
        return None
    return session.exec(select(Message).where(Message.provider_message_id == wamid)).first()


def record_usage(session: Session, message: Message, plan: Plan, at: dt.datetime) -> None:
    if session.exec(select(UsageRecord.id).where(UsageRecord.message_id == message.id)).first():
        return
    session.add(
        UsageRecord(
            account_id=message.account_id,
            business_number_id=message.business_number_id,
            message_id=message.id,
            channel=message.channel,
            direction=message.direction,
            day=at.astimezone(dt.UTC).date(),
            fee_minor=plan.fee_minor if message.channel == "whatsapp" else 0,
            currency=plan.currency,
        )
    )


# ---------------------------------------------------------------------- inbound message kinds


def _first_name(contact: Contact) -> str:
    return (contact.name or contact.profile_name or "The customer").split()[0]


def _kind_text(msg: InboundMessage) -> tuple[str, str, dict | None]:
    return "text", msg.text.body if msg.text else "", None


def _kind_media(msg: InboundMessage) -> tuple[str, str, dict | None]:
    media = msg.media
    caption = getattr(media, "caption", None) or ""
    return msg.type, caption, {"filename": getattr(media, "filename", None) or ""}


def _kind_location(msg: InboundMessage) -> tuple[str, str, dict | None]:
    loc = msg.location
    parts = [p for p in (loc.name, loc.address) if p] if loc else []
    where = ", ".join(parts) or "a location"
    body = f"Shared {where}"
    payload = loc.model_dump(exclude_none=True) if loc else None
    return "location", body, payload


def _kind_contacts(msg: InboundMessage) -> tuple[str, str, dict | None]:
    cards = msg.contacts or []
    names = ", ".join((c.name.formatted_name if c.name else "") or "a contact" for c in cards)
    return (
        "contacts",
        f"Shared contact: {names or 'a contact'}",
        {"contacts": [c.model_dump(exclude_none=True) for c in cards]},
    )


def _kind_interactive(msg: InboundMessage) -> tuple[str, str, dict | None]:
    inter = msg.interactive
    title = (inter.reply_title if inter else None) or "Replied"
    return "interactive", title, {"reply_id": inter.reply_id if inter else None}


def _kind_button(msg: InboundMessage) -> tuple[str, str, dict | None]:
    btn = msg.button
    return (
        "button",
        (btn.text if btn else "") or "Tapped a button",
        {"payload": btn.payload if btn else None},
    )


def _kind_order(msg: InboundMessage) -> tuple[str, str, dict | None]:
    order = msg.order
    items = len(order.product_items) if order and order.product_items else 0
    return "order", f"Sent an order with {items} item(s)", msg.raw.get("order")


def _kind_system(msg: InboundMessage) -> tuple[str, str, dict | None]:
    return (
        "system",
        (msg.system.body if msg.system else "") or "System notice",
        msg.raw.get("system"),
    )


def _kind_unsupported(msg: InboundMessage) -> tuple[str, str, dict | None]:
    what = msg.unsupported.type if msg.unsupported and msg.unsupported.type else "message"
    return "unsupported", f"sent a {what}, which this channel does not support", msg.raw


MESSAGE_KINDS: dict[str, Callable[[InboundMessage], tuple[str, str, dict | None]]] = {
    "text": _kind_text,
    "image": _kind_media,
    "video": _kind_media,
    "document": _kind_media,
    "audio": _kind_media,
    "sticker": _kind_media,
    "location": _kind_location,
    "contacts": _kind_contacts,
    "interactive": _kind_interactive,
    "button": _kind_button,
    "order": _kind_order,
    "system": _kind_system,
    "unsupported": _kind_unsupported,
}

FETCHED_KINDS = {"image", "video", "document"}


def _store_inbound(
    session: Session,
    event: WebhookEvent,
    number: BusinessNumber,
    account: Account,
    plan: Plan,
    value: MessagesValue,
    msg: InboundMessage,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if _by_wamid(session, msg.id) is not None:
        return  # a duplicate delivery
    profile = value.contact_for(msg.from_)
    contact = _contact(session, account, msg.from_, (profile.name if profile else None) or "")
    conv = conversation_for(session, contact=contact, number=number, channel="whatsapp")
    at = msg.timestamp_utc or now

    if msg.type == "reaction":
        _store_reaction(session, number, account, plan, conv, msg, outcome, at, cache)
        return

    handler = MESSAGE_KINDS.get(msg.type)
    if handler is None:  # a kind nobody knows yet: kept whole, shown as a notice
        kind, body, payload = "unknown", f"sent a message of type {msg.type!r}", msg.raw
    else:
        kind, body, payload = handler(msg)
    supported, notice = inbound_support(msg.type, getattr(msg.media, "mime_type", None))
    if not supported and notice and kind not in ("unsupported",):
        body = f"{_first_name(contact)} {notice}" + (f" ({body})" if body else "")
    elif kind in ("unsupported", "unknown"):
        body = f"{_first_name(contact)} {body}"

    media_id = None
    media = msg.media
    if media is not None and msg.type in FETCHED_KINDS and supported:
        placeholder = MediaFile(
            account_id=account.id,
            kind=msg.type,
            mime_type=media.mime_type or "application/octet-stream",
            size=0,
            sha256=media.sha256 or "",
            filename=(getattr(media, "filename", None) or "")[:255],
            provider_media_id=media.id,
            state="pending",
        )
        session.add(placeholder)
        session.flush()
        media_id = placeholder.id
        outcome.media_to_fetch.append(placeholder.id)

    reply_to = _by_wamid(session, msg.reply_to_id)
    message = Message(
        account_id=account.id,
        conversation_id=conv.id,
        business_number_id=number.id,
        direction="inbound",
        channel="whatsapp",
        kind=kind,
        body=body,
        media_id=media_id,
        payload=payload if payload is None or isinstance(payload, dict) else {"value": payload},
        provider_message_id=msg.id,
        status="received",
        reply_to_id=reply_to.id if reply_to else None,
        reply_to_provider_id=msg.reply_to_id,
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return  # the same wamid stored by a concurrent delivery
    record_usage(session, message, plan, at)
    if cache is None or cache.may_have_waiting_reactions(session, message.provider_message_id):
        _apply_waiting_reactions(session, message)
    if kind in ("button", "interactive", "text"):  # STOP / "Stop promotions" -> opt-out ledger
        optouts.handle_whatsapp_inbound(session, message)

    if conv.last_inbound_at is None or at > conv.last_inbound_at:
        conv.last_inbound_at = at
        conv.window_expires_at = at + WINDOW
    if conv.last_message_at is None or at >= conv.last_message_at:
        conv.last_message_at = at
        conv.last_preview = (body or kind.title())[:200]
        conv.channel = "whatsapp"
        conv.business_number_id = number.id
    conv.unread_count += 1
    team_status.reopen_on_customer_message(session, conv, at)  # team inbox: reopens it
    session.add(conv)
    outcome.live.append(
        (account.id, {"type": "message", "conversation_id": conv.id, "message_id": message.id})
    )


def _store_reaction(
    session: Session,
    number: BusinessNumber,
    account: Account,
    plan: Plan,
    conv: Conversation,
    msg: InboundMessage,
    outcome: Outcome,
    at: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    reaction = msg.reaction
    emoji = (reaction.emoji or "") if reaction else ""
    target_wamid = reaction.message_id if reaction else None
    row = Message(
        account_id=account.id,
        conversation_id=conv.id,
        business_number_id=number.id,
        direction="inbound",
        channel="whatsapp",
        kind="reaction",
        body=emoji,
        provider_message_id=msg.id,
        status="received",
        reply_to_provider_id=target_wamid,
        created_at=at,
    )
    target = _by_wamid(session, target_wamid)
    if target is None and cache is not None:
        cache.reaction_waits_for(target_wamid)
    if target is not None:
        row.reply_to_id = target.id
        target.reaction = emoji
        session.add(target)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return
    record_usage(session, row, plan, at)
    outcome.live.append(
        (
            account.id,
            {
                "type": "message",
                "conversation_id": conv.id,
                "message_id": target.id if target else row.id,
            },
        )
    )


def _apply_waiting_reactions(session: Session, message: Message) -> None:
    """Reactions that arrived before the message they react to."""
    waiting = session.exec(
        select(Message)
        .where(
            Message.kind == "reaction",
            Message.reply_to_provider_id == message.provider_message_id,
            Message.reply_to_id.is_(None),
        )
        .order_by(Message.created_at)
    ).all()
    for reaction in waiting:
        reaction.reply_to_id = message.id
        message.reaction = reaction.body
        session.add(reaction)


# ------------------------------------------------------------------------------- statuses


def apply_status(message: Message, status: Status, at: dt.datetime) -> bool:
    """Move a message's status forward only; failed is terminal. True when it changed."""
    if message.status == "failed":
        return False
    if status.is_failed:
        err = status.error
        message.status = "failed"
        message.failed_at = at
        if err is not None:
            message.error_code = err.code
            message.error_title = (err.title or err.message or "")[:255]
            message.error_detail = err.details or err.message or ""
        return True
    new_rank = STATUS_RANK.get(status.status)
    if new_rank is None:
        return False  # e.g. "played": not a state this inbox tracks
    changed = False
    stamp = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}[status.status]
    if getattr(message, stamp) is None:
        setattr(message, stamp, at)
        changed = True
    if new_rank > STATUS_RANK.get(message.status, 0):
        message.status = status.status
        changed = True
    if status.pricing is not None:
        message.pricing_category = status.pricing.category or message.pricing_category
        if status.pricing.billable is not None:
            message.billable = status.pricing.billable
    return changed


def _store_status(
    session: Session, account: Account, status: Status, outcome: Outcome, now: dt.datetime
) -> None:
    message = _by_wamid(session, status.id)
    if message is None:  # a send that got no answer: found by the callback data it carried
        from ctreflex.services.outbound import reconcile_status  # outbound imports this module

        message = reconcile_status(session, account.id, status)
    if message is None:
        raise Deferred(f"status {status.status} for {status.id}, which is not stored yet")
    if message.account_id != account.id:
        raise Refused(f"status for {status.id} belongs to another account")
    if apply_status(message, status, status.timestamp_utc or now):
        session.add(message)
        outcome.live.append(
            (
                account.id,
                {
                    "type": "status",
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                },
            )
        )


# --------------------------------------------------------------------------- change handlers


def handle_messages(
    session: Session,
    event: WebhookEvent,
    waba_id: str,
    value: Any,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if not isinstance(value, MessagesValue):
        raise Refused("a 'messages' change without the expected value")
    number, account, plan = _number_for(session, value, cache.routing if cache else None,
                                        waba_id)
    event.account_id = account.id
    for msg in value.messages:
        _store_inbound(session, event, number, account, plan, value, msg, outcome, now, cache)
    for status in value.statuses:
        try:  # raised before anything is written: the other statuses and messages go on
            _store_status(session, account, status, outcome, now)
        except Refused as exc:
            outcome.problems.append(str(exc))
        except Deferred as exc:  # the messages stored so far are kept; the event is retried
            outcome.deferred.append(str(exc))
    if value.errors:
        first = value.errors[0]
        event.error = f"Meta reported error {first.code}: {first.title or first.message}"[:2000]


def handle_template_status(
    session: Session,
    event: WebhookEvent,
    waba_id: str,
    value: Any,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if not isinstance(value, TemplateStatusUpdate):
        raise Refused("a template status change without the expected value")
    template = session.exec(
        select(Template).where(Template.provider_template_id == str(value.message_template_id))
    ).first()
    if template is None:
        raise Deferred(f"template {value.message_template_id} is not synced yet")
    if waba_id is not None and template.waba_id != waba_id:
        raise Refused(f"template {value.message_template_id} does not belong to WhatsApp "
                      f"Business Account {waba_id}; refused.")
    event.account_id = template.account_id
    template.status = (value.event or template.status).upper()[:32]
    template.rejected_reason = value.reason[:64] if value.reason not in (None, "NONE") else None
    template.updated_at = now
    session.add(template)
    outcome.live.append((template.account_id, {"type": "template", "template_id": template.id}))


CHANGE_HANDLERS: dict[str, Callable[..., None]] = {
    "messages": handle_messages,
    "message_template_status_update": handle_template_status,
}
