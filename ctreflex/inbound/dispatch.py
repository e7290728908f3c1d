"""Journaled events become rows: in id order, in one transaction per call, each event in its
own savepoint, dispatched by provider (PROVIDERS: WhatsApp, SMS); runs of plain WhatsApp
texts and statuses go through the set-based fast path (inbound/fastpath.py).

Buys: one processor for every channel, in order per conversation, with one set of retry and
dead-letter rules (inbound/lifecycle.py). Guarded by tests/unit/test_ingest.py (every fixture,
shuffled replays, fast == per-event rows), tests/sms/test_sms_ingest.py and
tests/unit/test_inbound_sms_replay.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlmodel import Session

from ctreflex.inbound import fastpath, lifecycle, sms, whatsapp
from ctreflex.inbound.lifecycle import Outcome
from ctreflex.inbound.whatsapp import BatchCache
from ctreflex.models import WebhookEvent, utc_now
from ctreflex.models.ops import EventState

log = logging.getLogger("ctreflex.ingest")

# provider -> process(session, event, now, cache) -> Outcome, for an event whose try is counted
PROVIDERS: dict[str, Callable[[Session, WebhookEvent, dt.datetime, BatchCache], Outcome]] = {
    "whatsapp": whatsapp.process,
    "sms": sms.process,
}


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
        if pos >= slow_until and fastpath.enabled:
            try:
                done = fastpath.process_run(session, event_ids[pos : pos + fastpath.CHUNK], now,
                                            cache, total, before_write)
            except fastpath.GaveWay as exc:  # rolled back: the per-event path takes them
                log.info("fast path gave way to the per-event path: %s", exc)
                cache.rolled_back()
                slow_until = pos + exc.count
            except Exception as exc:  # noqa: BLE001 - a look-up failed: the per-event path
                log.warning("fast path look-ups failed: %s: %s", exc.__class__.__name__, exc)
                cache.rolled_back()
                slow_until = pos + fastpath.CHUNK
        if not done:
            before_write()
            try:
                total.add(_process_one(session, event_ids[pos], now, cache))
            except Exception as exc:  # noqa: BLE001 - escaped the event's savepoint
                # This transaction is undone (its events stay due and come next time); the
                # failing event alone counts a try, so it is parked after the bounded retries
                # instead of stopping every event behind it.
                log.exception("webhook event %s failed outside its savepoint", event_ids[pos])
                session.rollback()
                cache.rolled_back()
                lifecycle.count_failure(session, event_ids[pos], exc, now)
                return Outcome(taken=pos + 1)
            done = 1
        pos += done
        total.taken = pos
    session.commit()
    return total


def _process_one(session: Session, event_id: int, now: dt.datetime, cache: BatchCache) -> Outcome:
    event = session.get(WebhookEvent, event_id)
    if event is None or event.state not in lifecycle.DUE_STATES:
        return Outcome()
    event.attempts += 1  # flushed by the handler's savepoint: survives its rollback
    handler = PROVIDERS.get(event.provider)
    if handler is None:
        lifecycle.finish(event, EventState.UNHANDLED,
                         f"No processor for provider {event.provider!r}; kept as received.", now)
        return Outcome()
    return handler(session, event, now, cache)
