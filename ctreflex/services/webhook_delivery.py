"""Outbound webhooks, delivery: signed POSTs of due deliveries, retried with backoff."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import httpx
from sqlalchemy import and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, utc_now
from ctreflex.services import crypto
from ctreflex.services import outbound_webhooks as hooks
from ctreflex.services.outbound_webhooks import (
    CLAIM_FOR,
    FIRST_WAIT,
    GIVE_UP_AFTER,
    MAX_WAIT,
    SIGNATURE_HEADER,
    TIMEOUT,
    WebhookError,
    check_url,
    sign,
)

# ------------------------------------------------------------------------------ delivery


def backoff(attempts: int) -> dt.timedelta:
    return min(FIRST_WAIT * (2 ** max(attempts - 1, 0)), MAX_WAIT)


def _due_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        and_(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.conversation_id == WebhookDelivery.conversation_id,
            earlier.state == "pending",
            earlier.id < WebhookDelivery.id,
        )
    )
    stmt = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.state == "pending",
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            or_(WebhookDelivery.conversation_id.is_(None), ~blocked),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def _claim(delivery_id: int, now: dt.datetime) -> tuple[str, str, bytes] | None:
    with db.session_scope() as session:
        done = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.state == "pending",
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            )
            .values(claimed_until=now + CLAIM_FOR)
        )
        if not done.rowcount:
            return None
        d = session.get(WebhookDelivery, delivery_id)
        ep = session.get(WebhookEndpoint, d.endpoint_id)
        if ep is None or not ep.active:
            d.claimed_until = None
            d.next_attempt_at = now + MAX_WAIT  # waits for the endpoint to be turned back on
            session.add(d)
            return None
        return ep.url, crypto.decrypt(ep.secret_encrypted), d.body.encode()


def _record(delivery_id: int, status: int | None, error: str, ms: int, now: dt.datetime) -> str:
    with db.session_scope() as session:
        d = session.get(WebhookDelivery, delivery_id)
        session.add(
            WebhookAttempt(
                delivery_id=d.id, at=now, status_code=status, error=error[:500], duration_ms=ms
            )
        )
        d.attempts += 1
        d.last_status = status
        d.last_error = error[:500]
        d.claimed_until = None
        if status is not None and 200 <= status < 300:
            d.state, d.delivered_at, d.next_attempt_at = "delivered", now, None
        else:
            nxt = now + backoff(d.attempts)
            if nxt - d.created_at > GIVE_UP_AFTER and d.attempts > 1:
                d.state, d.next_attempt_at = "failed", None
            else:
                d.next_attempt_at = nxt
        session.add(d)
        return d.state


async def _post(client: httpx.AsyncClient, url: str, secret: str, body: bytes):
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CTText-Webhooks/1",
        SIGNATURE_HEADER: sign(secret, body),
    }
    started = time.monotonic()
    try:
        await asyncio.to_thread(check_url, url, resolve=True)
        resp = await client.post(url, content=body, headers=headers)
        status, error = resp.status_code, ("" if resp.is_success else f"HTTP {resp.status_code}")
    except WebhookError as exc:
        status, error = None, exc.message
    except httpx.HTTPError as exc:
        status, error = None, (f"{exc.__class__.__name__}: {exc}").rstrip(": ")
    return status, error, int((time.monotonic() - started) * 1000)


@dataclasses.dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} given up"


async def deliver_due(
    *,
    now: dt.datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    rounds: int = 20,
) -> DeliveryRun:
    """Deliver every due delivery, in order per conversation: each round sends the first
    pending delivery of each conversation (per endpoint), then looks again."""
    run = DeliveryRun()  # no lock needed: each delivery is claimed, and a later one of the
    # same conversation waits while an earlier one is pending, whichever run holds it
    # the job runs every minute, mostly with nothing due: then it builds no client (the
    # client's TLS context costs tens of ms of CPU)
    with db.session_scope() as session:
        if not _due_ids(session, now or utc_now(), 1):
            return run
    async with httpx.AsyncClient(
        timeout=TIMEOUT, transport=transport or hooks.TRANSPORT, follow_redirects=False
    ) as client:
        for _ in range(rounds):
            at = now or utc_now()
            with db.session_scope() as session:
                ids = _due_ids(session, at, 100)
            if not ids:
                break
            progressed = False
            for delivery_id in ids:
                claimed = await asyncio.to_thread(_claim, delivery_id, at)
                if claimed is None:
                    continue
                url, secret, body = claimed
                status, error, ms = await _post(client, url, secret, body)
                state = await asyncio.to_thread(_record, delivery_id, status, error, ms, at)
                if state == "delivered":
                    run.delivered += 1
                    progressed = True
                elif state == "failed":
                    run.failed += 1
                    progressed = True
                else:
                    run.retrying += 1
            if not progressed:
                break
    return run
