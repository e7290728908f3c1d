"""Who answers a conversation: unassigned, or assigned to one active user of its account.

Every change is a `ConversationEvent` (a line in the thread, services/thread_events.py), queues
the `conversation.assigned` outbound webhook in the same transaction, and is published to the
account's open tabs (`publish`). The inbox, /api/v1 and the send path call these same
functions; every id is checked against the account here. Never imports reflex.

Roles: agents and admins assign and unassign; only admins change the account's auto-assign
setting (a reply from an unassigned conversation assigns it to the replier).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlmodel import Session, select

from ctreflex.models import Account, Contact, Conversation, ConversationEvent, User, utc_now
from ctreflex.models.account import Role
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import webhook_queue as hooks

log = logging.getLogger("ctreflex.assignment")

BULK_MAX = 200  # conversations changed by one request


class TeamError(ValueError):
    """Refused: the message says why, `field` names the input ("" when none). `not_found` is
    set when an id is not the account's (the API answers 404)."""

    def __init__(self, message: str, field: str = "", *, not_found: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        self.not_found = not_found


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, or an API key (label), or the app itself."""

    user_id: int | None = None
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Change:
    account_id: int
    conversation_id: int
    kind: str  # assigned, unassigned, snoozed, resolved, reopened


@dataclasses.dataclass(frozen=True)
class Colleague:
    id: int
    name: str


@dataclasses.dataclass(frozen=True)
class TeamSettings:
    auto_assign: bool
    reminders: bool
    is_admin: bool


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.name or user.email.split("@")[0]


def colleagues(*, session: Session, account_id: int) -> list[Colleague]:
    """The account's active users, by name: who a conversation can be assigned to."""
    users = session.exec(
        select(User).where(User.account_id == account_id, User.active.is_(True))
    ).all()
    out = [Colleague(u.id, display_name(u)) for u in users]
    return sorted(out, key=lambda c: (c.name.lower(), c.id))


def acting_user(session: Session, account_id: int, user_id: int | None) -> User | None:
    """The active user `user_id` of the account, else None."""
    if not user_id:
        return None
    user = session.get(User, user_id)
    if user is None or user.account_id != account_id or not user.active:
        return None
    return user


def own_conversations(session: Session, account_id: int, ids: list[int]) -> list[Conversation]:
    """The account's conversations with these ids (in that order), refused as a whole when any
    id is not the account's."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        raise TeamError("Choose at least one conversation.", "conversation_ids")
    if len(ids) > BULK_MAX:
        raise TeamError(f"At most {BULK_MAX} conversations at once.", "conversation_ids")
    found = {
        c.id: c
        for c in session.exec(
            select(Conversation).where(
                Conversation.id.in_(ids), Conversation.account_id == account_id
            )
        ).all()
    }
    if len(found) != len(ids):
        raise TeamError("No such conversation in your account.", "conversation_id", not_found=True)
    return [found[i] for i in ids]


def record(
    session: Session,
    conv: Conversation,
    kind: str,
    actor: Actor,
    *,
    target_user_id: int | None = None,
    reason: str = "",
    until: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> ConversationEvent:
    """Add the event row (no commit)."""
    event = ConversationEvent(
        account_id=conv.account_id,
        conversation_id=conv.id,
        kind=kind,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:120],
        target_user_id=target_user_id,
        reason=reason,
        until=until,
        created_at=at or utc_now(),
    )
    session.add(event)
    return event


def _set_assignee(
    session: Session,
    conv: Conversation,
    assignee: User | None,
    actor: Actor,
    *,
    reason: str = "",
    at: dt.datetime | None = None,
) -> Change | None:
    new_id = assignee.id if assignee is not None else None
    if conv.assignee_id == new_id:
        return None
    previous = conv.assignee_id
    conv.assignee_id = new_id
    session.add(conv)
    if new_id is None:
        event = record(session, conv, "unassigned", actor, target_user_id=previous, at=at)
    else:
        event = record(
            session, conv, "assigned", actor, target_user_id=new_id, reason=reason, at=at
        )
    session.flush()
    _queue_webhook(session, conv, event, previous)
    return Change(conv.account_id, conv.id, event.kind)


def assign(
    *,
    session: Session,
    account_id: int,
    conversation_ids: list[int],
    assignee_id: int | None,
    actor: Actor,
) -> list[Change]:
    """Assign the conversations to `assignee_id` (None: unassign). Refused when the actor is
    not an active user of the account (unless an API key acts), when the assignee is not one,
    or when any conversation is not the account's. Commits; returns what changed."""
    if actor.user_id is not None and acting_user(session, account_id, actor.user_id) is None:
        raise TeamError("Sign in again to change assignments.", "user")
    convs = own_conversations(session, account_id, conversation_ids)
    assignee = None
    if assignee_id is not None:
        assignee = acting_user(session, account_id, assignee_id)
        if assignee is None:
            raise TeamError(
                "No active user with that id in your account.", "assignee_id", not_found=True
            )
    changes = [c for conv in convs if (c := _set_assignee(session, conv, assignee, actor))]
    session.commit()
    return changes


def claim_on_reply(
    session: Session, conv: Conversation, user_id: int | None, kind: str = "text"
) -> None:
    """The send path's hook (before its commit): a reply from an unassigned conversation
    assigns it to the replier when the account says so (a reaction is no reply). Never fails
    the send."""
    if conv.assignee_id is not None or not user_id or kind == "reaction":
        return
    try:
        with session.begin_nested():
            account = session.get(Account, conv.account_id)
            if account is None or not account.auto_assign_on_reply:
                return
            user = acting_user(session, conv.account_id, user_id)
            if user is None:
                return
            _set_assignee(session, conv, user, Actor(user_id=user.id), reason="reply")
    except Exception:  # noqa: BLE001 - the reply matters more than its assignment
        log.exception("auto-assign on reply failed for conversation %s", conv.id)


# ------------------------------------------------------------------------------ settings


def settings(*, session: Session, account_id: int, user_id: int) -> TeamSettings:
    account = session.get(Account, account_id)
    user = acting_user(session, account_id, user_id)
    return TeamSettings(
        auto_assign=bool(account and account.auto_assign_on_reply),
        reminders=bool(user and user.window_reminders),
        is_admin=bool(user and user.role in (Role.admin.value, Role.operator.value)),
    )


def set_auto_assign(*, session: Session, account_id: int, user_id: int, enabled: bool) -> None:
    """Admins only: whether a reply from an unassigned conversation assigns it."""
    user = acting_user(session, account_id, user_id)
    if user is None or user.role not in (Role.admin.value, Role.operator.value):
        raise TeamError("Only an admin of the account changes this setting.", "auto_assign")
    account = session.get(Account, account_id)
    account.auto_assign_on_reply = bool(enabled)
    session.add(account)
    session.commit()


def set_window_reminders(*, session: Session, account_id: int, user_id: int, enabled: bool):
    """The user's own opt-in to the T-60 reminder for their conversations."""
    user = acting_user(session, account_id, user_id)
    if user is None:
        raise TeamError("Sign in again to change this setting.", "reminders")
    user.window_reminders = bool(enabled)
    session.add(user)
    session.commit()


# ------------------------------------------------------------------------------ events out


def _queue_webhook(
    session: Session, conv: Conversation, event: ConversationEvent, previous: int | None
) -> None:
    """conversation.assigned for the account's endpoints, in the change's transaction."""
    try:
        with session.begin_nested():
            if not hooks._has_endpoints_now(session, conv.account_id):
                return
            contact = session.get(Contact, conv.contact_id)
            assignee = session.get(User, conv.assignee_id) if conv.assignee_id else None
            before = session.get(User, previous) if previous else None
            by = session.get(User, event.actor_user_id) if event.actor_user_id else None
            hooks.enqueue(
                session,
                account_id=conv.account_id,
                event_type="conversation.assigned",
                event_key=f"conversation.assigned:{event.id}",
                conversation_id=conv.id,
                data={
                    "conversation_id": conv.id,
                    "contact": {
                        "id": contact.id,
                        "phone": contact.e164,
                        "name": contact.name or contact.profile_name,
                    }
                    if contact
                    else None,
                    "assignee": _user_view(assignee),
                    "previous_assignee": _user_view(before),
                    "by": _user_view(by) if by else {"api_key": event.actor_label or None},
                    "reason": event.reason or "manual",
                    "at": hooks._iso(event.created_at),
                },
            )
    except Exception:  # noqa: BLE001 - the assignment matters more than its webhook
        log.exception("queueing conversation.assigned for conversation %s failed", conv.id)


def _user_view(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": display_name(user), "email": user.email}


async def publish(changes: list[Change]) -> None:
    """Tell the account's open tabs (each conversation once) and kick the webhook delivery."""
    seen: set[tuple[int, int]] = set()
    for change in changes:
        key = (change.account_id, change.conversation_id)
        if key in seen:
            continue
        seen.add(key)
        await broker.publish(
            change.account_id,
            LiveEvent.conversation(change.conversation_id, change.kind),
        )
    if changes:
        hooks.kick_soon()
