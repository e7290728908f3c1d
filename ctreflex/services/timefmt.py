"""Times are stored in UTC and shown in the account's time zone, written by Babel (CLDR month
and day names in the pages' locale, services/l10n.LOCALE)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime

from ctreflex.services.l10n import LOCALE


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
        return clock(local)
    if (today - local.date()).days < 7:
        return _pattern(local, "EEE HH:mm")
    if local.year == today.year:
        return _pattern(local, "d MMM")
    return _pattern(local, "d MMM y")


def _pattern(at: dt.datetime | dt.date, pattern: str) -> str:
    """``at`` (already in the zone it is shown in) in a CLDR pattern; Babel names the months
    and days in the pages' locale."""
    if isinstance(at, dt.datetime):
        return format_datetime(at, pattern, tzinfo=at.tzinfo, locale=LOCALE)
    return format_date(at, pattern, locale=LOCALE)


def clock(at: dt.datetime) -> str:
    """'14:05' (24-hour, as the product shows times)."""
    return _pattern(at, "HH:mm")


def day_label(day: dt.date, today: dt.date) -> str:
    """The thread's day separator: 'Today', 'Yesterday', 'Monday' this week, 'Monday, 3 March'
    this year, else '3 March 2025'."""
    if day == today:
        return "Today"
    if day == today - dt.timedelta(days=1):
        return "Yesterday"
    if 0 < (today - day).days < 7:
        return _pattern(day, "EEEE")
    if day.year == today.year:
        return _pattern(day, "EEEE, d MMMM")
    return _pattern(day, "d MMMM y")


def long_date(at: dt.datetime, local: dt.tzinfo) -> str:
    """'3 March 2025' in the zone ``local``."""
    return _pattern(at.astimezone(local), "d MMMM y")


def full_stamp(at: dt.datetime, local: dt.tzinfo | None = None) -> str:
    """'Mon 3 Mar 2025, 14:05' (in ``local`` when given, else in ``at``'s own zone)."""
    return _pattern(at.astimezone(local) if local else at, "EEE d MMM y, HH:mm")


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
