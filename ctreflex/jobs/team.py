"""The team inbox's timed work (job `team_sweep`, every minute): snoozes whose time has come
reopen (with their thread line, live in every open tab), and opted-in assignees get their
in-app reminder 60 minutes before an unanswered conversation's window closes."""

from __future__ import annotations

import asyncio
import datetime as dt

from ctreflex import db
from ctreflex.models import utc_now
from ctreflex.realtime import broker
from ctreflex.services import assignment
from ctreflex.services import status as team_status


def _sweep(now: dt.datetime):
    with db.session_scope() as session:
        woken = team_status.wake_due(session=session, now=now)
    with db.session_scope() as session:
        reminders = team_status.reminders_due(session=session, now=now)
    return woken, reminders


async def team_sweep(*, now: dt.datetime | None = None) -> str:
    now = now or utc_now()
    woken, reminders = await asyncio.to_thread(_sweep, now)
    await assignment.publish(woken)
    for r in reminders:
        await broker.publish(
            r.account_id,
            {"type": "reminder", "conversation_id": r.conversation_id, "user_id": r.user_id},
        )
    return f"{len(woken)} snoozed conversation(s) reopened; {len(reminders)} reminder(s) sent"
