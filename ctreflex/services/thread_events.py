"""The team inbox's lines in a thread: "Ada assigned this to Ben, 14:02", "Ben snoozed this until
tomorrow 09:00, 14:05", "Reopened: the customer wrote, 09:12", in the viewer's time zone.

`interleave` merges a conversation's `ConversationEvent`s into the thread rows that
thread_view.thread_rows built (by time; an event after the message at the same instant),
as rows with direction "event" (components/team_lines.py draws them). Never imports reflex.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session, select

from ctreflex.models import ConversationEvent, Message, User
from ctreflex.services.assignment import display_name
from ctreflex.services.status import local_time
from ctreflex.services.timefmt import zone

SHOWN = ("assigned", "unassigned", "snoozed", "resolved", "reopened")


def line_text(
    event: ConversationEvent, names: dict[int, str], viewer_tz: str, now: dt.datetime
) -> str:
    """The sentence, without its time."""
    actor = names.get(event.actor_user_id or 0) or event.actor_label or "CT Text"
    target = names.get(event.target_user_id or 0, "a colleague")
    if event.kind == "assigned":
        if event.reason == "reply":
            return f"{actor} replied and took this conversation"
        if event.actor_user_id and event.actor_user_id == event.target_user_id:
            return f"{actor} assigned this to themselves"
        return f"{actor} assigned this to {target}"
    if event.kind == "unassigned":
        if event.actor_user_id and event.actor_user_id == event.target_user_id:
            return f"{actor} unassigned themselves"
        return f"{actor} unassigned {target}"
    if event.kind == "snoozed":
        until = local_time(event.until, viewer_tz, now) if event.until else "later"
        return f"{actor} snoozed this until {until}"
    if event.kind == "resolved":
        return f"{actor} resolved this"
    if event.kind == "reopened":
        if event.reason == "customer":
            return "Reopened: the customer wrote"
        if event.reason == "snooze_ended":
            return "Snooze ended: open again"
        return f"{actor} reopened this"
    return event.kind


def _names(session: Session, events: list[ConversationEvent]) -> dict[int, str]:
    ids = {i for e in events for i in (e.actor_user_id, e.target_user_id) if i}
    if not ids:
        return {}
    return {u.id: display_name(u) for u in session.exec(select(User).where(User.id.in_(ids)))}


def interleave(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    rows: list,
    messages: list[Message],
    tz: str,
    now: dt.datetime,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list:
    """`rows` (MessageRow of `messages`, oldest first) with the events of their page merged
    in (from `since`, the first shown message when older ones exist, to before `until`, where
    the newer page starts); day separators recomputed."""
    query = (
        select(ConversationEvent)
        .where(
            ConversationEvent.account_id == account_id,
            ConversationEvent.conversation_id == conversation_id,
            ConversationEvent.kind.in_(SHOWN),
        )
        .order_by(ConversationEvent.created_at, ConversationEvent.id)
        .limit(300)
    )
    if since is not None:  # a long thread shows its latest part only
        query = query.where(ConversationEvent.created_at >= since)
    if until is not None:
        query = query.where(ConversationEvent.created_at < until)
    events = list(session.exec(query).all())
    if not events:
        return rows
    names = _names(session, events)
    local = zone(tz)
    template = rows[0] if rows else None
    # rows are matched to their messages by id (thread_rows may leave some messages out)
    at_of = {m.id: m.created_at for m in messages}
    first_at = min(at_of.values(), default=events[0].created_at)
    timed: list[tuple[dt.datetime, int, object]] = []
    for row in rows:
        first_at = at_of.get(row.id, first_at)  # a row without its message keeps its place
        timed.append((first_at, 0, row))
    for event in events:
        timed.append((event.created_at, 1, _event_row(event, names, tz, now, local, template)))
    timed.sort(key=lambda t: (t[0], t[1]))
    from ctreflex.services.conversations import _day_label  # late: conversations imports us

    out, previous_day = [], None
    today = now.astimezone(local).date()
    for at, _order, row in timed:
        day = at.astimezone(local).date()
        show = day != previous_day
        if row.show_day != show:
            row = dataclasses.replace(row, show_day=show, day_label=_day_label(day, today))
        out.append(row)
        previous_day = day
    return out


def _event_row(event, names, tz, now, local, template):
    from ctreflex.services.thread_view import MessageRow  # late: thread_view imports us

    at = event.created_at.astimezone(local)
    time = at.strftime("%H:%M")
    text = f"{line_text(event, names, tz, now)}, {time}"
    return MessageRow.blank(
        id=-int(event.id),  # never a message id: nothing can reply to or retry it
        direction="event",
        kind=event.kind,
        time=time,
        timestamp=f"{at.strftime('%a')} {at.day} {at.strftime('%b %Y, %H:%M')}",
        is_notice=True,
        notice_icon=_ICONS.get(event.kind, "info"),
        notice_text=text,
        channel=template.channel if template is not None else "whatsapp",
        channel_label="",
    )


_ICONS = {
    "assigned": "user-check",
    "unassigned": "user-x",
    "snoozed": "alarm-clock",
    "resolved": "circle-check",
    "reopened": "rotate-ccw",
}
