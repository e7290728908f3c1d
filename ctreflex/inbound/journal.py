"""The raw journal: every webhook body (WhatsApp and SMS) written to WebhookEvent, committed,
before the provider gets its answer; the processor takes the due ones in id order.

Buys: nothing is lost between the 200 and the rows (kill -9 loses nothing), and on SQLite the
hot path speaks the driver: one executemany per group commit, 20 µs a row against the ORM's
47 µs (docs/PERFORMANCE.md, "Journal by the driver"). Guarded by
tests/unit/test_journal_bodies.py (ids in body order, UTC times, all-or-nothing batches) and
tests/e2e/test_durability.py (kill -9 mid-burst).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from sqlalchemy import insert, update
from sqlmodel import Session, col, or_, select

from ctreflex import db
from ctreflex.models import WebhookEvent, utc_now
from ctreflex.models.ops import EventState

# One journal row: (provider, kind, account_id, body). WhatsApp's kind is set by processing
# (the change fields); an SMS webhook's kind ("inbound" / "status") and account (the one whose
# auth token verified it) are known when it arrives.
Row = tuple[str, str, int | None, bytes]


def body_text(body: bytes) -> str:
    """The body as stored: UTF-8 with replacement, NUL as U+FFFD (PostgreSQL's text refuses
    NUL; a JSON body cannot hold one, so a parseable body is stored exactly)."""
    text = body.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def journal(
    *,
    session: Session,
    provider: str,
    body: bytes,
    commit: bool = True,
    kind: str = "",
    account_id: int | None = None,
) -> WebhookEvent:
    event = WebhookEvent(
        provider=provider,
        body=body_text(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        kind=kind,
        account_id=account_id,
    )
    session.add(event)
    if commit:
        session.commit()
    return event


def journal_many(*, session: Session, provider: str, bodies: list[bytes]) -> list[int]:
    """Journal several bodies of one provider in one INSERT and one COMMIT; ids in order."""
    return journal_rows_orm(session, [(provider, "", None, b) for b in bodies])


def journal_rows_orm(session: Session, rows: list[Row]) -> list[int]:
    if not rows:
        return []
    now = utc_now()
    values = [
        {
            "provider": provider,
            "received_at": now,
            "body": body_text(b),
            "body_sha256": hashlib.sha256(b).hexdigest(),
            "state": EventState.PENDING.value,
            "kind": kind,
            "account_id": account_id,
            "attempts": 0,
            "error": "",
        }
        for provider, kind, account_id, b in rows
    ]
    ids = session.execute(
        insert(WebhookEvent).returning(WebhookEvent.id, sort_by_parameter_order=True), values
    ).scalars().all()
    session.commit()
    return list(ids)


_JOURNAL_INSERT = (
    "INSERT INTO webhookevent (provider, received_at, body, body_sha256, state, kind,"
    " account_id, attempts, error) VALUES (?, ?, ?, ?, 'pending', ?, ?, 0, '')"
)


def journal_bodies(*, provider: str, bodies: list[bytes]) -> list[int]:
    """Journal several bodies of one provider in one transaction; ids in body order."""
    return journal_rows([(provider, "", None, b) for b in bodies])


def journal_rows(rows: list[Row]) -> list[int]:
    """Journal several rows in one transaction and one commit; ids in row order.

    On SQLite this is the webhook's hot path, so it speaks the driver directly (one
    executemany, a quarter of the ORM's cost per row): inside BEGIN IMMEDIATE this connection
    is the only writer, so the new rows take the ids after the current largest, in order;
    that is checked against last_insert_rowid() before the commit. Elsewhere: the ORM's
    INSERT ... RETURNING."""
    if not rows:
        return []
    engine = db.get_engine()
    if engine.dialect.name != "sqlite":
        with db.session_scope() as session:
            return journal_rows_orm(session, rows)
    received_at = _sqlite_datetime(engine.dialect)(utc_now().replace(tzinfo=None))
    values = [
        (provider, received_at, body_text(b), hashlib.sha256(b).hexdigest(), kind, account_id)
        for provider, kind, account_id, b in rows
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
            cur.executemany(_JOURNAL_INSERT, values)
            last = cur.execute("SELECT last_insert_rowid()").fetchone()[0]
            if last != first + len(values) - 1:
                raise RuntimeError(f"journal ids not consecutive: {first}..{last}")
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            cur.close()
    finally:
        raw.close()
    return list(range(first, first + len(values)))


@functools.cache
def _sqlite_datetime(dialect):
    """SQLAlchemy's own storage format for a naive UTC datetime on SQLite."""
    from sqlalchemy.dialects.sqlite import DATETIME  # the SQLite dialect, only needed there

    return DATETIME().bind_processor(dialect)


def due_event_ids(
    *, session: Session, now: dt.datetime | None = None, limit: int = 500
) -> list[int]:
    """Due events of every provider, in id order (so in order per conversation)."""
    now = now or utc_now()
    return list(
        session.exec(
            select(WebhookEvent.id)
            .where(
                or_(
                    WebhookEvent.state == EventState.PENDING,
                    (WebhookEvent.state == EventState.RETRY)
                    & (WebhookEvent.next_attempt_at <= now),
                )
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        ).all()
    )


def make_due_now(*, session: Session, provider: str, mentioning: str) -> int:
    """Waiting events of `provider` whose body names `mentioning` (e.g. receipts that came
    before the send's answer gave its id) become due now; commits. Returns how many."""
    result = session.exec(  # type: ignore[call-overload]
        update(WebhookEvent)
        .where(
            col(WebhookEvent.provider) == provider,
            col(WebhookEvent.state) == EventState.RETRY,
            col(WebhookEvent.body).contains(mentioning),
        )
        .values(next_attempt_at=utc_now())
    )
    session.commit()
    return result.rowcount or 0
