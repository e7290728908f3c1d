"""Where a journaled event goes, for every channel: done, partial, rejected, unhandled, or
tried again with backoff (RETRY_DELAYS) and then parked as dead for an admin's Retry or
Discard.

Buys: one set of rules for WhatsApp and SMS events (the dead-letters page, Retry and Discard
work the same for both). Guarded by tests/unit/test_ingest.py (malformed and refused bodies
are kept), tests/sms/test_sms_ingest.py and tests/unit/test_inbound_sms_replay.py (an SMS
event killed mid-processing is counted, replayed, then parked like a WhatsApp one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session

from ctreflex.models import WebhookEvent, utc_now
from ctreflex.models.ops import EventState
from ctreflex.whatsapp.webhooks import clean_text

# Seconds before the next try: 5 tries over about 30 minutes, then the event is parked as dead.
RETRY_DELAYS = [2, 30, 240, 1500]
DUE_STATES = (EventState.PENDING, EventState.RETRY)


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

    def add(self, other: Outcome) -> None:
        self.live.extend(other.live)
        self.media_to_fetch.extend(other.media_to_fetch)


def finish_values(state: str, error: str, now: dt.datetime) -> dict:
    """The columns of an event that ends in `state` (the fast path writes them in bulk)."""
    values = {
        "state": state,
        "error": clean_text(error)[:2000],  # a reason quoting the body stays storable
        "processed_at": now,
        "next_attempt_at": None,
    }
    if error and state != EventState.DONE:
        values["last_error_at"] = now
    return values


def finish(event: WebhookEvent, state: str, error: str, now: dt.datetime) -> None:
    for name, value in finish_values(state, error, now).items():
        setattr(event, name, value)


def defer(event: WebhookEvent, reason: str, now: dt.datetime) -> None:
    """Try again after RETRY_DELAYS[tries - 1], or park as dead after the last one. The try
    is already counted on the event (a savepoint rollback leaves the count it had before)."""
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
    if event is None or event.state not in DUE_STATES:
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


def count_failure(session: Session, event_id: int, exc: BaseException, now: dt.datetime) -> None:
    """An error that escaped the event's own handling (its transaction is rolled back): count
    the try on the event alone, in a transaction of its own, so it cannot come back forever."""
    event = session.get(WebhookEvent, event_id)
    if event is None or event.state not in DUE_STATES:
        return
    event.attempts += 1
    defer(event, f"{exc.__class__.__name__}: {exc}", now)
    session.commit()
