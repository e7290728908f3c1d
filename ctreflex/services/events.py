"""The webhook journal as admins see it: events of their account that were rejected, partly
kept, not handled, waiting to retry or parked as dead, with the reason; and what an admin can
do about one (Retry, Discard). The platform operator sees every account's, and the events no
account can be found for (bodies that cannot be parsed, unknown numbers)."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, col, select

from ctreflex.models import BusinessNumber, WebhookEvent, utc_now
from ctreflex.models.ops import EventState
from ctreflex.services.errors import UserFacingError
from ctreflex.whatsapp.webhooks import loads_json

PROBLEM_STATES = (
    EventState.DEAD.value,
    EventState.REJECTED.value,
    EventState.PARTIAL.value,
    EventState.RETRY.value,
    EventState.UNHANDLED.value,
)
RETRYABLE = frozenset({EventState.DEAD, EventState.REJECTED, EventState.PARTIAL,
                       EventState.UNHANDLED})
# Not "retry": the processor may be taking it this very moment; it is dead after its tries.
DISCARDABLE = RETRYABLE
LIMIT = 200


class EventActionError(UserFacingError):
    """The event cannot be retried or discarded (not found for this user, or its state)."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class EventRow:
    id: int
    received_at: str
    state: str
    kind: str
    attempts: int
    error: str
    preview: str
    provider: str = "whatsapp"
    account_id: int = 0  # 0: no account could be found for it (the operator's to look at)
    can_retry: bool = False
    can_discard: bool = False


def _ids_in(body: str) -> tuple[set[str], set[str]]:
    """(WABA ids, phone-number ids) a webhook body names; empty when it is not JSON (or not
    safely parseable: too deep, NaN, too large)."""
    try:
        data = loads_json(body)
    except Exception:  # noqa: BLE001 - any body from outside: nothing named
        return set(), set()
    wabas, pnids = set(), set()
    entries = data.get("entry") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("id"), (str, int)) and entry["id"] != "":
            wabas.add(str(entry["id"]))
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            meta = value.get("metadata") if isinstance(value, dict) else None
            pnid = meta.get("phone_number_id") if isinstance(meta, dict) else None
            if isinstance(pnid, (str, int)) and pnid != "":
                pnids.add(str(pnid))
    return wabas, pnids


def _is_operator(user) -> bool:
    return getattr(user, "role", "") == "operator"


def _mine(session: Session, account_id: int) -> tuple[set[str], set[str]]:
    rows = session.exec(
        select(BusinessNumber.waba_id, BusinessNumber.phone_number_id).where(
            BusinessNumber.account_id == account_id
        )
    ).all()
    return {w for w, _ in rows if w}, {p for _, p in rows if p}


def _belongs(event: WebhookEvent, account_id: int, mine: tuple[set[str], set[str]]) -> bool:
    """Recorded with this account, or (stored without one, e.g. refused) naming only this
    account's numbers, or only its WABAs when it names no number."""
    if event.account_id is not None:
        return event.account_id == account_id
    my_wabas, my_pnids = mine
    wabas, pnids = _ids_in(event.body)
    if pnids:
        return pnids <= my_pnids
    return bool(wabas) and wabas <= my_wabas


def _row(e: WebhookEvent, fmt) -> EventRow:
    state = e.state
    return EventRow(
        id=e.id,
        received_at=fmt(e.received_at) if fmt else e.received_at.isoformat(),
        state=state,
        kind=e.kind or "(unknown)",
        attempts=e.attempts,
        error=e.error,
        preview=e.body[:300],
        provider=e.provider,
        account_id=e.account_id or 0,
        can_retry=state in RETRYABLE,
        can_discard=state in DISCARDABLE,
    )


def list_events(
    *,
    session: Session,
    account_id: int,
    state: str | None = None,
    fmt=None,
    user=None,
) -> list[EventRow]:
    """Problem events that belong to this account: recorded with it, or naming its numbers or
    WhatsApp Business Accounts (a refused event is stored without an account). With `user`
    the platform operator: every account's, and those of no account."""
    states = (state,) if state in PROBLEM_STATES else PROBLEM_STATES
    query = (
        select(WebhookEvent)
        .where(col(WebhookEvent.state).in_(states))
        .order_by(col(WebhookEvent.id).desc())
    )
    if user is not None and _is_operator(user):
        return [_row(e, fmt) for e in session.exec(query.limit(LIMIT)).all()]
    query = query.where(
        (WebhookEvent.account_id == account_id) | col(WebhookEvent.account_id).is_(None)
    )
    mine = _mine(session, account_id)
    out = []
    for e in session.exec(query.limit(LIMIT * 5)).all():
        if not _belongs(e, account_id, mine):
            continue
        out.append(_row(e, fmt))
        if len(out) >= LIMIT:
            break
    return out


def _event_for(session: Session, *, event_id: int, account_id: int, user) -> WebhookEvent:
    event = session.get(WebhookEvent, event_id)
    if event is None or not (
        (user is not None and _is_operator(user))
        or _belongs(event, account_id, _mine(session, account_id))
    ):
        raise EventActionError("No such webhook event for this account.", status=404)
    return event


def retry_event(*, session: Session, event_id: int, account_id: int, user=None) -> EventRow:
    """Process the event again, with a fresh set of bounded tries (the processor takes it,
    WhatsApp or SMS, at once when notified after the commit)."""
    event = _event_for(session, event_id=event_id, account_id=account_id, user=user)
    if event.state not in RETRYABLE:
        raise EventActionError(f"This event is {event.state}; only a parked event is retried.")
    event.state = EventState.RETRY
    event.attempts = 0
    event.next_attempt_at = utc_now()
    event.processed_at = None
    session.add(event)
    session.commit()
    return _row(event, None)


def discard_event(*, session: Session, event_id: int, account_id: int, user=None) -> EventRow:
    """Dismiss the event: kept in the journal as received, no longer tried or listed."""
    event = _event_for(session, event_id=event_id, account_id=account_id, user=user)
    if event.state not in DISCARDABLE:
        raise EventActionError(f"This event is {event.state}; it cannot be discarded.")
    who = getattr(user, "email", "") or "an admin"
    event.state = EventState.DISCARDED
    event.next_attempt_at = None
    event.error = f"Discarded by {who}. {event.error}"[:2000]
    event.processed_at = utc_now()
    session.add(event)
    session.commit()
    return _row(event, None)


def unmatched_count(*, session: Session) -> int:
    """Problem events no account can be found for (malformed bodies, unknown numbers)."""
    rows = session.exec(
        select(WebhookEvent.body).where(
            col(WebhookEvent.state).in_(PROBLEM_STATES), col(WebhookEvent.account_id).is_(None)
        )
    ).all()
    return sum(1 for body in rows if not any(_ids_in(body)))
