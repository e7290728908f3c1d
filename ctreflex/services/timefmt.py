"""Times are stored in UTC and shown in the account's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(tz: str) -> dt.tzinfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def format_local(at: dt.datetime | None, tz: str, *, now: dt.datetime | None = None) -> str:
    """'14:05' today, 'Mon 14:05' this week, '3 Jan' this year, else '3 Jan 2025'."""
    if at is None:
        return ""
    local = at.astimezone(zone(tz))
    today = (now or dt.datetime.now(dt.UTC)).astimezone(zone(tz)).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (today - local.date()).days < 7:
        return local.strftime("%a %H:%M")
    if local.year == today.year:
        return f"{local.day} {local.strftime('%b')}"
    return f"{local.day} {local.strftime('%b %Y')}"


def format_duration(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else "less than a minute"


def window_label(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    if expires_at is None:
        return "No customer message yet"
    if expires_at <= now:
        return "Window closed"
    return f"closes in {format_duration(expires_at - now)}"
