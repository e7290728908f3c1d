"""Health for a load balancer or an orchestrator.

GET /healthz  the worker's event loop answers: always 200 {"status": "alive"}; touches nothing
              (a database outage must not make an orchestrator restart every worker).
GET /readyz   may this worker take traffic: 200 when ready, 503 when not, with the checks:
              - database: a SELECT 1 answers;
              - redis (only with REFLEX_REDIS_URL): PING answers;
              - processor: this worker's webhook processor runs (when it was started here), which
                process holds the processor lease, and how far behind the journal is (events
                waiting, the oldest one's age) — the backlog is reported, not a reason to refuse
                traffic (the 200s to Meta only journal);
              - scheduler: which process holds the scheduler lease (none is reported, not
                refused: another worker takes it within the lease's time).

Nothing secret is shown: no URL, password, token or tenant data; process ids are `host:pid`.
Both are public by design (no cookie, no key): tests/security/authz_matrix.py lists them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, text
from sqlmodel import select

from ctreflex import db
from ctreflex.models import WebhookEvent, utc_now

router = APIRouter()

CHECK_TIMEOUT = 2.0


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    # which worker answered (a process id, nothing secret): lets an operator or a test see
    # the load spread over the workers
    headers = {"Cache-Control": "no-store", "X-Ctreflex-Worker": str(os.getpid())}
    return JSONResponse({"status": "alive"}, headers=headers)


def _lease(session, name: str) -> dict | None:
    from ctreflex.services import jobs

    info = jobs.lease_info(session=session, name=name)
    if info is None:
        return None
    return {"holder": f"{info.host}:{info.pid}" if info.pid else info.holder,
            "this_process": info.mine}


def _database_checks() -> dict:
    from ctreflex.services import jobs

    started = time.monotonic()
    now = utc_now()
    with db.session_scope() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        took = time.monotonic() - started
        due = or_(
            WebhookEvent.state == "pending",
            (WebhookEvent.state == "retry") & (WebhookEvent.next_attempt_at <= now),
        )
        waiting, oldest = session.exec(
            select(func.count(), func.min(WebhookEvent.received_at)).where(due)
        ).one()
        processor_lease = _lease(session, jobs.PROCESSOR_LEASE)
        scheduler_lease = _lease(session, jobs.SCHEDULER_LEASE)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return {
        "database_ms": round(took * 1000, 1),
        "waiting": int(waiting or 0),
        "oldest_age_s": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "processor_lease": processor_lease,
        "scheduler_lease": scheduler_lease,
    }


async def _redis_check(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_timeout=CHECK_TIMEOUT,
                               socket_connect_timeout=CHECK_TIMEOUT)
    try:
        await client.ping()
    finally:
        await client.aclose()


@router.get("/readyz", include_in_schema=False)
async def readyz() -> JSONResponse:
    from ctreflex.inbound.processor import processor
    from ctreflex.realtime import redis_url

    ready = True
    checks: dict = {}
    try:
        found = await asyncio.wait_for(asyncio.to_thread(_database_checks), CHECK_TIMEOUT)
        checks["database"] = {"ok": True, "ms": found["database_ms"]}
    except Exception as exc:  # noqa: BLE001 - reported without the URL or the driver's text
        found = None
        ready = False
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    url = redis_url()
    if url:
        try:
            await asyncio.wait_for(_redis_check(url), CHECK_TIMEOUT)
            checks["redis"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - the class only: a message may hold the URL
            ready = False
            checks["redis"] = {"ok": False, "error": exc.__class__.__name__}
    else:
        checks["redis"] = {"ok": True, "configured": False}
    running = processor.running
    expected = processor.started
    if expected and not running:
        ready = False
    checks["processor"] = {
        "ok": running or not expected,
        "running_here": running,
        "lease": found["processor_lease"] if found else None,
        "waiting_events": found["waiting"] if found else None,
        "oldest_waiting_s": found["oldest_age_s"] if found else None,
    }
    checks["scheduler"] = {"lease": found["scheduler_lease"] if found else None}
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
