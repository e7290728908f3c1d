"""The scheduled jobs. Each is idempotent and returns a one-line summary for the Jobs page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import update
from sqlmodel import Session, col, select

from ctreflex import db
from ctreflex.models import (
    Contact,
    Conversation,
    JobRun,
    MediaFile,
    WebhookEvent,
    utc_now,
)
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import media, outbox, template_sync, usage
from ctreflex.settings import get_settings

log = logging.getLogger("ctreflex.jobs")

SWEEP_LOOKBACK_MAX = dt.timedelta(days=1)
SWEEP_FIRST_LOOKBACK = dt.timedelta(minutes=5)
NUDGE_WITHIN = dt.timedelta(hours=1)
FAILED_REPLAY_MAX_ATTEMPTS = 60


def _last_success(session: Session, job_id: str) -> dt.datetime | None:
    return session.exec(
        select(JobRun.started_at)
        .where(JobRun.job_id == job_id, col(JobRun.ok).is_(True))
        .order_by(col(JobRun.started_at).desc())
    ).first()


# ------------------------------------------------------------------------ window expiry sweep


def windows_closed_between(
    *, session: Session, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, int]]:
    """(account id, conversation id) of every window that closed in (since, until]."""
    return [
        (acc, conv)
        for acc, conv in session.exec(
            select(Conversation.account_id, Conversation.id)
            .where(
                Conversation.window_expires_at > since,
                Conversation.window_expires_at <= until,
            )
            .order_by(Conversation.window_expires_at)
        ).all()
    ]


@dataclasses.dataclass(frozen=True)
class ClosingWindow:
    conversation_id: int
    account_id: int
    contact: str
    closes_at: dt.datetime
    minutes_left: int


def windows_closing_soon(
    *,
    session: Session,
    account_id: int | None = None,
    now: dt.datetime | None = None,
    within: dt.timedelta = NUDGE_WITHIN,
) -> list[ClosingWindow]:
    """Open windows that close within `within`: candidates for a keep-alive nudge."""
    now = now or utc_now()
    query = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            Conversation.window_expires_at > now,
            Conversation.window_expires_at <= now + within,
        )
        .order_by(Conversation.window_expires_at)
    )
    if account_id is not None:
        query = query.where(Conversation.account_id == account_id)
    return [
        ClosingWindow(
            conversation_id=conv.id,
            account_id=conv.account_id,
            contact=contact.name or contact.profile_name or contact.e164,
            closes_at=conv.window_expires_at,
            minutes_left=max(0, int((conv.window_expires_at - now).total_seconds() // 60)),
        )
        for conv, contact in session.exec(query).all()
    ]


async def window_sweep(*, now: dt.datetime | None = None, since: dt.datetime | None = None) -> str:
    """Tell open inboxes about windows that closed since the last sweep, so chips turn to
    "closed" and composers lock live; count the windows closing within the hour."""
    now = now or utc_now()
    with db.session_scope() as session:
        if since is None:
            since = _last_success(session, "window_sweep") or now - SWEEP_FIRST_LOOKBACK
        since = max(since, now - SWEEP_LOOKBACK_MAX)
        closed = windows_closed_between(session=session, since=since, until=now)
        closing = windows_closing_soon(session=session, now=now)
    for account_id, conversation_id in closed:
        await broker.publish(
            account_id,
            LiveEvent.conversation(conversation_id, reason="window_closed"),
        )
    return f"{len(closed)} window(s) closed; {len(closing)} closing within the hour"


# ------------------------------------------------------------------------------ usage roll-up


async def usage_rollup(*, now: dt.datetime | None = None, days: list[dt.date] | None = None) -> str:
    """Roll up yesterday and today (or the given days). Re-running changes nothing."""
    today = (now or utc_now()).date()
    days = days or [today - dt.timedelta(days=1), today]
    changed = 0
    with db.session_scope() as session:
        for day in days:
            changed += usage.roll_up_day(session=session, day=day)
    return f"{len(days)} day(s) rolled up; {changed} row(s) written"


# ------------------------------------------------------------------------------ template sync


async def template_sync_job(*, now: dt.datetime | None = None) -> str:
    """The same sync as the page's button, for every account with a connected number: quality
    and rejection reasons included, templates Meta dropped marked deleted, open pages told."""
    from ctreflex.services.templates import sync_account_templates

    with db.session_scope() as session:
        accounts = sorted({acc for acc, _, _ in template_sync.connected_wabas(session=session)})
    errors: list[str] = []
    changed = 0
    for account_id in accounts:
        result = await sync_account_templates(account_id)
        errors.extend(result.errors)
        changed += result.added + result.updated + result.removed
    if errors:
        for error in errors:
            log.warning("template sync: %s", error)
        raise RuntimeError(f"{len(errors)} WABA(s) failed (details in the server log)")
    # The Jobs page is seen by every account's admins: totals only, no other account's names.
    return f"Templates synced for {len(accounts)} account(s); {changed} template(s) changed"


# --------------------------------------------------------------------- webhook journal replay


async def journal_replay(*, now: dt.datetime | None = None) -> str:
    """Give every failed event (the state before dead letters) one more try, then process
    what is due (pending, retry). Dead events stay parked for an admin's Retry or Discard."""
    from ctreflex.inbound.processor import processor

    now = now or utc_now()
    with db.session_scope() as session:
        result = session.exec(  # type: ignore[call-overload]
            update(WebhookEvent)
            .where(
                col(WebhookEvent.state) == "failed",
                col(WebhookEvent.attempts) < FAILED_REPLAY_MAX_ATTEMPTS,
            )
            .values(state="retry", next_attempt_at=now)
        )
        revived = result.rowcount or 0
    if processor.running:  # this process's processor takes them in order; never two drains at once
        processor.notify()
        published = "the processor notified"
    else:
        published = f"{await processor.drain()} live update(s)"
    with db.session_scope() as session:
        left = {
            state: len(
                session.exec(select(WebhookEvent.id).where(WebhookEvent.state == state)).all()
            )
            for state in ("retry", "dead")
        }
    return (
        f"{revived} failed event(s) retried; {published}; "
        f"{left['retry']} waiting to retry, {left['dead']} parked as dead"
    )


# ---------------------------------------------------------------------------- media retention


def expire_media(*, session: Session, now: dt.datetime | None = None, days: int | None = None):
    """Delete files older than the retention from disk; keep their rows, marked "expired"."""
    now = now or utc_now()
    days = days or get_settings().media_retention_days
    cutoff = now - dt.timedelta(days=days)
    old = session.exec(
        select(MediaFile).where(MediaFile.state == "ready", MediaFile.created_at < cutoff)
    ).all()
    removed = 0
    for row in old:
        # files are stored by content hash: keep one a newer file record still uses
        in_use = session.exec(
            select(MediaFile.id).where(
                MediaFile.storage_path == row.storage_path,
                MediaFile.state == "ready",
                MediaFile.created_at >= cutoff,
            )
        ).first()
        path = media.absolute_path(row) if row.storage_path else None
        if path is not None and in_use is None and path.is_file():
            path.unlink()
            removed += 1
        row.state = "expired"
        row.fetch_error = f"Removed after {days} days (media retention)."
        session.add(row)
    session.commit()
    return len(old), removed


async def media_retention(*, now: dt.datetime | None = None) -> str:
    with db.session_scope() as session:
        expired, removed = expire_media(session=session, now=now)
    return f"{expired} file record(s) expired; {removed} file(s) deleted from disk"


# ------------------------------------------------------------------------------- send outbox


async def send_outbox(*, now: dt.datetime | None = None) -> str:
    """Send the WhatsApp messages waiting in the outbox whose retry time has come (each claimed
    first, so two runs never send one twice); sends left "pending" by a lost process become
    "unconfirmed". Platform-wide: the summary has totals only."""

    run = await outbox.run_outbox(now=now)
    return run.summary()
