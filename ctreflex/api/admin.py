"""Admin routes: the usage CSV, the jobs and the webhook journal. The role is checked on the
server from the session cookie for every request (AdminDep)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from ctreflex.api.deps import AdminDep, SessionDep
from ctreflex.jobs import scheduler
from ctreflex.services import events, numbers, usage

router = APIRouter(prefix="/api/admin")


@router.get("/usage.csv")
def usage_csv(user: AdminDep, session: SessionDep, start: str = "", end: str = "") -> Response:
    try:
        first, last = usage.parse_range(start, end)
    except usage.UsageRangeError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    rep = usage.report(session=session, account_id=user.account_id, start=first, end=last)
    return Response(
        usage.csv_text(rep),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{usage.csv_filename(rep)}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/usage")
def usage_json(user: AdminDep, session: SessionDep, start: str = "", end: str = "") -> dict:
    try:
        first, last = usage.parse_range(start, end)
    except usage.UsageRangeError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    rep = usage.report(session=session, account_id=user.account_id, start=first, end=last)
    return {
        "start": rep.start.isoformat(),
        "end": rep.end.isoformat(),
        "rows": [dataclasses.asdict(r) for r in rep.rows],
        "total_messages": rep.total_messages,
        "total_fee": rep.total_fee,
        "currency": rep.currency,
    }


@router.get("/jobs")
def jobs_list(user: AdminDep) -> list[dict]:
    """The operator: the platform jobs. A tenant admin: their own account's runs only."""
    fmt = lambda d: d.isoformat(timespec="seconds")  # noqa: E731
    if user.is_operator:
        rows = scheduler.overview(fmt=fmt)
    else:
        rows = scheduler.account_overview(account_id=user.account_id, fmt=fmt)
    return [dataclasses.asdict(j) for j in rows]


@router.post("/jobs/{job_id}/run")
async def run_now(job_id: str, user: AdminDep) -> dict:
    """The operator runs platform jobs; a tenant admin runs account-scoped jobs for their own
    account only. A run in progress or started within the cool-down is refused (429)."""
    if user.is_operator:
        if job_id not in scheduler.JOBS:
            raise HTTPException(status_code=404, detail="No such job.")
        result = await scheduler.run_job(job_id, trigger="manual")
    elif job_id in scheduler.ACCOUNT_JOBS:
        result = await scheduler.run_account_job(job_id, user.account_id, trigger="manual")
    elif job_id in scheduler.JOBS:
        raise HTTPException(
            status_code=403, detail="Only the platform operator can run platform jobs."
        )
    else:
        raise HTTPException(status_code=404, detail="No such job.")
    if not result.ran:
        raise HTTPException(
            status_code=429,
            detail=result.message,
            headers={"Retry-After": str(max(1, result.retry_after))},
        )
    return dataclasses.asdict(result)


@router.get("/events")
def webhook_events(user: AdminDep, session: SessionDep, state: str = "") -> list[dict]:
    """This account's problem webhook events (the operator: every account's, and those of no
    account). Any stored body is listed, never a 500 (bodies are not parsed unsafely)."""
    rows = events.list_events(
        session=session, account_id=user.account_id, state=state or None, user=user
    )
    return [dataclasses.asdict(e) for e in rows]


@router.post("/events/{event_id}/retry")
def webhook_event_retry(event_id: int, user: AdminDep, session: SessionDep) -> dict:
    """Process a parked (dead, rejected, partly kept) event again, with fresh tries."""
    try:
        row = events.retry_event(
            session=session, event_id=event_id, account_id=user.account_id, user=user
        )
    except events.EventActionError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from exc
    from ctreflex.inbound.processor import processor

    processor.notify()
    return dataclasses.asdict(row)


@router.post("/events/{event_id}/discard")
def webhook_event_discard(event_id: int, user: AdminDep, session: SessionDep) -> dict:
    """Dismiss a problem event: kept in the journal, no longer tried or listed."""
    try:
        row = events.discard_event(
            session=session, event_id=event_id, account_id=user.account_id, user=user
        )
    except events.EventActionError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from exc
    return dataclasses.asdict(row)


@router.get("/whatsapp")
def whatsapp_gate(user: AdminDep, session: SessionDep) -> dict:
    g = numbers.gate(session=session, account_id=user.account_id)
    return dataclasses.asdict(g) | {"full": g.full}
