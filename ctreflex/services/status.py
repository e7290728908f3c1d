"""A conversation's status: open, snoozed until a time, or resolved; and the window work queue.

A snoozed conversation reopens by itself when its time comes (the `team_sweep` job persists it
and writes the thread line; until then every list already counts it as open, so no tab waits
for the job) and, like a resolved one, when the customer writes (`reopen_on_customer_message`,
called by the inbound paths before their commit). Every change is a `ConversationEvent` and is
published to the account's tabs. Never imports reflex.

The window work queue: open conversations whose 24-hour window closes within N hours and whose
last message is the customer's (unanswered), closing soonest first. Opted-in assignees get an
in-app reminder 60 minutes before such a window closes (`reminders_due`, from the same job).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, exists, or_
from sqlmodel import Session, select

from ctreflex.models import Conversation, ConversationEvent, Message, User, utc_now
from ctreflex.services.assignment import (
    Actor,
    Change,
    TeamError,
    acting_user,
    own_conversations,
    record,
)
from ctreflex.services.timefmt import zone

STATUSES = ("open", "snoozed", "resolved")
STATUS_FILTERS = ("open", "snoozed", "resolved", "any")
SNOOZE_MAX = dt.timedelta(days=366)
QUEUE_HOURS = (1, 2, 4, 8, 24)
REMIND_BEFORE = dt.timedelta(minutes=60)
REMINDER_SHOW_FOR = dt.timedelta(minutes=60)  # a tab opened later still shows it this long


# ------------------------------------------------------------------------------ SQL clauses


def status_clause(name: str, now: dt.datetime):
    """The list filter by status (a snooze whose time has passed counts as open)."""
    snoozed_now = and_(Conversation.status == "snoozed", Conversation.snoozed_until > now)
    if name == "open":  # one range of (account_id, status, snoozed_until): a count reads
        # the index alone
        return and_(
            Conversation.status.in_(("open", "snoozed")),
            or_(
                Conversation.status == "open",
                Conversation.snoozed_until.is_(None),
                Conversation.snoozed_until <= now,
            ),
        )
    if name == "snoozed":
        return snoozed_now
    if name == "resolved":
        return Conversation.status == "resolved"
    return None


def unanswered_clause():
    """The customer wrote last: no message of ours (notes aside) after their last one."""
    return and_(
        Conversation.last_inbound_at.is_not(None),
        ~exists().where(
            and_(
                Message.conversation_id == Conversation.id,
                Message.direction == "outbound",
                Message.kind != "note",
                Message.created_at > Conversation.last_inbound_at,
            )
        ),
    )


def queue_clause(now: dt.datetime, hours: int):
    """The window work queue: open, window closing within `hours`, unanswered."""
    return and_(
        status_clause("open", now),
        Conversation.window_expires_at > now,
        Conversation.window_expires_at <= now + dt.timedelta(hours=hours),
        unanswered_clause(),
    )


def effective(conv_status: str, until: dt.datetime | None, now: dt.datetime) -> str:
    if conv_status == "snoozed" and (until is None or until <= now):
        return "open"
    return conv_status if conv_status in STATUSES else "open"


def status_text(conv_status: str, until: dt.datetime | None, tz: str, now: dt.datetime) -> str:
    state = effective(conv_status, until, now)
    if state == "snoozed":
        return f"Snoozed until {local_time(until, tz, now)}"
    return {"open": "Open", "resolved": "Resolved"}[state]


def local_time(at: dt.datetime, tz: str, now: dt.datetime) -> str:
    """'14:05' today, 'tomorrow 09:00', else 'Wed 3 Dec, 09:00' (the viewer's zone)."""
    local = at.astimezone(zone(tz))
    today = now.astimezone(zone(tz)).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today + dt.timedelta(days=1):
        return "tomorrow " + local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')}, {local.strftime('%H:%M')}"


def next_wake(*, session: Session, account_id: int, now: dt.datetime) -> float | None:
    """Seconds until the account's next snooze ends (the tab's list changes then)."""
    until = session.exec(
        select(Conversation.snoozed_until)
        .where(
            Conversation.account_id == account_id,
            Conversation.status == "snoozed",
            Conversation.snoozed_until > now,
        )
        .order_by(Conversation.snoozed_until)
        .limit(1)
    ).first()
    return None if until is None else (until - now).total_seconds()


# ------------------------------------------------------------------------------ changes


def set_status(
    *,
    session: Session,
    account_id: int,
    conversation_ids: list[int],
    status: str,
    actor: Actor,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[Change]:
    """Open, snooze (until a future time, within a year) or resolve the conversations. Commits;
    returns what changed."""
    now = now or utc_now()
    if status not in STATUSES:
        raise TeamError("Status must be open, snoozed or resolved.", "status")
    if actor.user_id is not None and acting_user(session, account_id, actor.user_id) is None:
        raise TeamError("Sign in again to change a conversation's status.", "user")
    if status == "snoozed":
        if until is None:
            raise TeamError("Choose when the snooze ends.", "until")
        if until.tzinfo is None:
            raise TeamError("Give the snooze's end with its time zone.", "until")
        if until <= now:
            raise TeamError("The snooze must end in the future.", "until")
        if until - now > SNOOZE_MAX:
            raise TeamError("A snooze ends within a year.", "until")
    convs = own_conversations(session, account_id, conversation_ids)
    changes: list[Change] = []
    for conv in convs:
        was = effective(conv.status, conv.snoozed_until, now)
        if status == was and status != "snoozed":
            continue
        conv.status = status
        conv.snoozed_until = until if status == "snoozed" else None
        session.add(conv)
        kind = "reopened" if status == "open" else status
        record(session, conv, kind, actor, until=conv.snoozed_until, at=now)
        changes.append(Change(conv.account_id, conv.id, kind))
    session.commit()
    return changes


def reopen_on_customer_message(session: Session, conv: Conversation, at: dt.datetime) -> None:
    """The inbound paths' hook (before their commit): a customer's message reopens a snoozed or
    resolved conversation, with its thread line. The caller publishes its message event."""
    if conv.status == "open":
        return
    was_snoozed_past = conv.status == "snoozed" and (
        conv.snoozed_until is None or conv.snoozed_until <= at
    )
    conv.status = "open"
    conv.snoozed_until = None
    session.add(conv)
    reason = "snooze_ended" if was_snoozed_past else "customer"
    # stamped when it happens (a message's own time can be older than the snooze it ends)
    record(session, conv, "reopened", Actor(), reason=reason, at=max(at, utc_now()))


def wake_due(*, session: Session, now: dt.datetime | None = None) -> list[Change]:
    """Every snooze whose time has come, reopened with its thread line (the job). Commits."""
    now = now or utc_now()
    due = session.exec(
        select(Conversation)
        .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
        .order_by(Conversation.snoozed_until)
        .limit(1000)
    ).all()
    changes = []
    for conv in due:
        at = conv.snoozed_until or now
        conv.status, conv.snoozed_until = "open", None
        session.add(conv)
        record(session, conv, "reopened", Actor(), reason="snooze_ended", at=at)
        changes.append(Change(conv.account_id, conv.id, "reopened"))
    session.commit()
    return changes


# ------------------------------------------------------------------------------ reminders


@dataclasses.dataclass(frozen=True)
class Reminder:
    account_id: int
    conversation_id: int
    user_id: int


def reminders_due(*, session: Session, now: dt.datetime | None = None) -> list[Reminder]:
    """T-60: for each open, unanswered conversation whose window closes within the hour and
    whose assignee opted in, once per window: a "reminder" event for the assignee. Commits."""
    now = now or utc_now()
    rows = session.exec(
        select(Conversation)
        .join(User, User.id == Conversation.assignee_id)
        .where(
            User.active.is_(True),
            User.window_reminders.is_(True),
            queue_clause(now, 1),
            Conversation.window_expires_at <= now + REMIND_BEFORE,
            or_(
                Conversation.reminded_for.is_(None),
                Conversation.reminded_for != Conversation.window_expires_at,
            ),
        )
        .limit(1000)
    ).all()
    out = []
    for conv in rows:
        conv.reminded_for = conv.window_expires_at
        session.add(conv)
        record(session, conv, "reminder", Actor(), target_user_id=conv.assignee_id, at=now)
        out.append(Reminder(conv.account_id, conv.id, conv.assignee_id))
    session.commit()
    return out


@dataclasses.dataclass(frozen=True)
class Notice:
    id: int
    conversation_id: int
    text: str  # "Sofía García: the window closes in 58 min and the last message is theirs."


def notices_for(
    *,
    session: Session,
    account_id: int,
    user_id: int,
    after_id: int = 0,
    now: dt.datetime | None = None,
) -> list[Notice]:
    """The user's reminders newer than `after_id` (and at most an hour old) whose conversation
    is still waiting for an answer, newest first."""
    from ctreflex.models import Contact

    now = now or utc_now()
    rows = session.exec(
        select(ConversationEvent, Conversation, Contact)
        .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            ConversationEvent.account_id == account_id,
            ConversationEvent.target_user_id == user_id,
            ConversationEvent.kind == "reminder",
            ConversationEvent.id > after_id,
            ConversationEvent.created_at > now - REMINDER_SHOW_FOR,
            Conversation.assignee_id == user_id,
            Conversation.window_expires_at > now,
        )
        .order_by(ConversationEvent.id.desc())
        .limit(5)
    ).all()
    out = []
    for event, conv, contact in rows:
        name = contact.name or contact.profile_name or contact.e164
        minutes = max(1, int((conv.window_expires_at - now).total_seconds() // 60))
        out.append(
            Notice(
                id=event.id,
                conversation_id=conv.id,
                text=f"{name}: the 24-hour window closes in {minutes} min and the customer "
                "is waiting for an answer.",
            )
        )
    return out
