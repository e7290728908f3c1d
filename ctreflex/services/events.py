"""The webhook journal as admins see it: events of their account that were rejected, not
handled, waiting to retry or failed, with the reason."""

from __future__ import annotations

import dataclasses
import json

from sqlmodel import Session, col, select

from ctreflex.models import BusinessNumber, WebhookEvent

PROBLEM_STATES = ("rejected", "unhandled", "retry", "failed")
LIMIT = 200


@dataclasses.dataclass(frozen=True)
class EventRow:
    id: int
    received_at: str
    state: str
    kind: str
    attempts: int
    error: str
    preview: str


def _ids_in(body: str) -> tuple[set[str], set[str]]:
    """(WABA ids, phone-number ids) a webhook body names; empty when it is not JSON."""
    try:
        data = json.loads(body)
    except ValueError:
        return set(), set()
    wabas, pnids = set(), set()
    for entry in data.get("entry", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("id"):
            wabas.add(str(entry["id"]))
        for change in entry.get("changes", []) or []:
            value = change.get("value") if isinstance(change, dict) else None
            meta = value.get("metadata") if isinstance(value, dict) else None
            if isinstance(meta, dict) and meta.get("phone_number_id"):
                pnids.add(str(meta["phone_number_id"]))
    return wabas, pnids


def list_events(
    *, session: Session, account_id: int, state: str | None = None, fmt=None
) -> list[EventRow]:
    """Problem events that belong to this account: recorded with it, or naming one of its
    numbers or WhatsApp Business Accounts (a refused event is stored without an account)."""
    states = (state,) if state in PROBLEM_STATES else PROBLEM_STATES
    mine = session.exec(
        select(BusinessNumber.waba_id, BusinessNumber.phone_number_id).where(
            BusinessNumber.account_id == account_id
        )
    ).all()
    my_wabas = {w for w, _ in mine if w}
    my_pnids = {p for _, p in mine if p}
    rows = session.exec(
        select(WebhookEvent)
        .where(col(WebhookEvent.state).in_(states))
        .where((WebhookEvent.account_id == account_id) | col(WebhookEvent.account_id).is_(None))
        .order_by(col(WebhookEvent.id).desc())
        .limit(LIMIT * 5)
    ).all()
    out = []
    for e in rows:
        if e.account_id is None:
            wabas, pnids = _ids_in(e.body)
            if not (pnids & my_pnids or (not pnids and wabas & my_wabas)):
                continue
        out.append(
            EventRow(
                id=e.id,
                received_at=fmt(e.received_at) if fmt else e.received_at.isoformat(),
                state=e.state,
                kind=e.kind or "(unknown)",
                attempts=e.attempts,
                error=e.error,
                preview=e.body[:300],
            )
        )
        if len(out) >= LIMIT:
            break
    return out


def unmatched_count(*, session: Session) -> int:
    """Problem events no account can be found for (malformed bodies, unknown numbers)."""
    rows = session.exec(
        select(WebhookEvent.body).where(
            col(WebhookEvent.state).in_(PROBLEM_STATES), col(WebhookEvent.account_id).is_(None)
        )
    ).all()
    return sum(1 for body in rows if not any(_ids_in(body)))
