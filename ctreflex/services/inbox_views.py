"""The inbox list's views ("All", "Mine", "Unassigned", "Window queue") and status filter, as
SQL clauses conversations.list_rows applies, plus what a row and the open conversation show of
the team inbox (assignee, status). Never imports reflex.

Adding a view: one `ViewSpec` in `VIEWS` (its label, whether it depends on who looks, and its
clause); the switcher in the inbox (pages/inbox/listing.py) lists every entry. A filter beside
the views (e.g. a label) is a field of `ListScope` (hashable: tabs showing the same scope share
one computation of the list) and one more clause in `clauses`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from sqlmodel import Session, select

from ctreflex.models import Conversation, User
from ctreflex.services import status as st
from ctreflex.services.assignment import display_name


@dataclasses.dataclass(frozen=True)
class ListScope:
    """What, besides search/filter/sort, picks a tab's list. `user_id` is set only for the
    views that depend on the viewer (0 otherwise, so tabs of one account share the list)."""

    view: str = "all"
    status: str = "open"
    hours: int = 2  # the window queue's horizon
    user_id: int = 0


@dataclasses.dataclass(frozen=True)
class ViewSpec:
    key: str
    label: str
    clause: Callable[[ListScope, dt.datetime], object]
    personal: bool = False  # depends on the viewer (ListScope.user_id)
    sort: str = ""  # forced order ("closing"), "" keeps the tab's choice
    own_status: bool = False  # the view picks its statuses itself (the status filter is hidden)


VIEWS: dict[str, ViewSpec] = {
    spec.key: spec
    for spec in (
        ViewSpec("all", "All", lambda scope, now: None),
        ViewSpec(
            "mine",
            "Mine",
            lambda scope, now: Conversation.assignee_id == scope.user_id,
            personal=True,
        ),
        ViewSpec("unassigned", "Unassigned", lambda scope, now: Conversation.assignee_id.is_(None)),
        ViewSpec(
            "queue",
            "Window queue",
            lambda scope, now: st.queue_clause(now, scope.hours),
            sort="closing",
            own_status=True,
        ),
    )
}


def scope_for(view: str, status: str, hours: int, user_id: int) -> ListScope:
    """A clean scope from the tab's choices (unknown values fall back to the defaults)."""
    spec = VIEWS.get(view) or VIEWS["all"]
    return ListScope(
        view=spec.key,
        status=status if status in st.STATUS_FILTERS else "open",
        hours=hours if hours in st.QUEUE_HOURS else 2,
        user_id=user_id if spec.personal else 0,
    )


def clauses(scope: ListScope, now: dt.datetime) -> list:
    spec = VIEWS.get(scope.view) or VIEWS["all"]
    out = []
    if (clause := spec.clause(scope, now)) is not None:
        out.append(clause)
    if not spec.own_status and (clause := st.status_clause(scope.status, now)) is not None:
        out.append(clause)
    return out


def sort_for(scope: ListScope, sort: str) -> str:
    spec = VIEWS.get(scope.view) or VIEWS["all"]
    return spec.sort or sort


# ------------------------------------------------------------------------------ decoration


@dataclasses.dataclass(frozen=True)
class TeamFacts:
    assignee_id: int
    assignee_name: str
    status: str  # open, snoozed, resolved (a passed snooze is open)
    status_text: str  # "Open", "Snoozed until 09:00", "Resolved"
    snooze_ends_ms: int  # epoch ms, 0 unless snoozed now


def facts(
    *, session: Session, account_id: int, conversation_ids: list[int], tz: str, now: dt.datetime
) -> dict[int, TeamFacts]:
    """Assignee and status of the account's conversations with these ids (one query)."""
    if not conversation_ids:
        return {}
    rows = session.exec(
        select(Conversation.id, Conversation.status, Conversation.snoozed_until, User)
        .outerjoin(User, User.id == Conversation.assignee_id)
        .where(Conversation.account_id == account_id, Conversation.id.in_(conversation_ids))
    ).all()
    return {
        cid: TeamFacts(
            assignee_id=user.id if user is not None else 0,
            assignee_name=display_name(user),
            status=st.effective(status, until, now),
            status_text=st.status_text(status, until, tz, now),
            snooze_ends_ms=int(until.timestamp() * 1000)
            if st.effective(status, until, now) == "snoozed"
            else 0,
        )
        for cid, status, until, user in rows
    }


def next_edge(item, edge: float | None, now: dt.datetime) -> float | None:
    """Seconds until the item (a detail) changes by itself: its window's `edge`, or sooner
    the end of its snooze."""
    if not item.snooze_ends_ms:
        return edge
    left = item.snooze_ends_ms / 1000 - now.timestamp()
    return left if edge is None else min(edge, left)


def decorate(*, session: Session, account_id: int, items: list, tz: str, now: dt.datetime):
    """List rows or a detail (frozen dataclasses with the TeamFacts fields) filled in."""
    found = facts(
        session=session,
        account_id=account_id,
        conversation_ids=[i.id for i in items],
        tz=tz,
        now=now,
    )
    return [
        dataclasses.replace(i, **dataclasses.asdict(found[i.id])) if i.id in found else i
        for i in items
    ]
