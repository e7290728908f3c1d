"""The conversation list: its rows and filter counts, the search, filter and sort that pick
them, the team inbox's view switcher ("All", "Mine", "Unassigned", "Window queue": the
`inbox_views.VIEWS` registry; a new view is one entry there) with its status filter and queue
horizon, and the one computation the live listener shares between tabs (`compute_list`)."""

from __future__ import annotations

import dataclasses
import time

import reflex as rx

from ctreflex import db
from ctreflex.models import utc_now
from ctreflex.services import conversations as convs
from ctreflex.services import inbox_views, notes
from ctreflex.services import status as team_status
from ctreflex.services.auth import CurrentUser
from ctreflex.services.conversations import ConversationRow
from ctreflex.services.paging import ListCursor
from ctreflex.state.auth import AuthState

LIST_PAGE = 50  # rows a tab loads at first and per "Show more conversations"


@dataclasses.dataclass(frozen=True)
class ListResult:
    rows: list[ConversationRow]
    counts: dict[str, int]
    edge: float  # epoch s when a listed window next changes state, 0 if none
    read_now: bool  # mark_id was unread and is now read
    more: str = ""  # the next page's cursor (paging.ListCursor.encode), "" when none


def list_page(
    session,
    account_id: int,
    tz: str,
    query: str,
    list_filter: str,
    sort: str,
    scope: inbox_views.ListScope,
    narrow: tuple[int, int],
    limit: int,
    now,
    after: ListCursor | None = None,
) -> tuple[list[ConversationRow], str]:
    """A page of rows (with assignee and status) after `after`, and the next page's cursor."""
    rows, cursor = convs.list_page(
        session=session,
        account_id=account_id,
        tz=tz,
        query=query,
        filter=list_filter,
        sort=inbox_views.sort_for(scope, sort),
        now=now,
        where=[*inbox_views.clauses(scope, now), *notes.narrow_clauses(*narrow)],  # + labels
        limit=limit,
        after=after,
    )
    rows = inbox_views.decorate(session=session, account_id=account_id, items=rows, tz=tz, now=now)
    return rows, cursor.encode() if cursor else ""


def list_for(
    session,
    account_id: int,
    tz: str,
    query: str,
    list_filter: str,
    sort: str,
    scope: inbox_views.ListScope,
    narrow: tuple[int, int] = (0, 0),
    limit: int = LIST_PAGE,
) -> ListResult:
    """The first `limit` rows (with assignee and status), the filter counts in the same view,
    the epoch s when the list next changes by itself (a window's state, a snooze's end; 0:
    never) and the cursor of the rows after them."""
    now = utc_now()
    rows, more = list_page(
        session, account_id, tz, query, list_filter, sort, scope, narrow, limit, now
    )
    where = [*inbox_views.clauses(scope, now), *notes.narrow_clauses(*narrow)]
    counts = convs.filter_counts(session=session, account_id=account_id, now=now, where=where)
    edges = [
        convs.next_list_change(rows, now),
        team_status.next_wake(session=session, account_id=account_id, now=now),
    ]
    soonest = min((e for e in edges if e is not None), default=None)
    edge = time.time() + soonest if soonest is not None else 0.0
    return ListResult(rows, counts, edge, False, more)


def compute_list(
    account_id: int,
    tz: str,
    query: str,
    list_filter: str,
    sort: str,
    scope: inbox_views.ListScope,
    narrow: tuple[int, int],
    limit: int,
    mark_id: int,
) -> ListResult:
    """Runs in a worker thread: mark the open conversation read (if asked), then the list."""
    with db.session_scope() as session:
        read_now = False
        if mark_id:
            read_now = convs.mark_read(
                session=session, account_id=account_id, conversation_id=mark_id
            )
        result = list_for(
            session, account_id, tz, query, list_filter, sort, scope, narrow, limit
        )
    return dataclasses.replace(result, read_now=read_now)


class InboxListState(AuthState):
    """The conversation list, in a state of its own: a live list update changes only this
    state, so the browser re-renders the list, not the thread and composer (InboxState, a
    substate, reads and writes these as its own)."""

    rows: list[ConversationRow] = []
    counts: dict[str, int] = {name: 0 for name in convs.FILTERS}
    query: str = ""
    list_filter: str = "all"
    sort: str = "recent"
    loaded: bool = False
    # the team inbox's view switcher (inbox_views.VIEWS), status filter, queue horizon (hours)
    view: str = "all"
    status_filter: str = "open"
    queue_hours: int = 2
    label_filter: int = 0  # only this label's conversations (pages/inbox/labels.py), 0: any
    mentions_view: bool = False  # only those whose notes mention me (pages/inbox/notes.py)
    has_more: bool = False  # more rows than shown: "Show more conversations"

    _account_id: int = 0
    _user_id: int = 0
    _tz: str = "UTC"
    _list_edge: float = 0.0  # epoch s when a listed window next changes state
    _list_limit: int = LIST_PAGE  # rows shown: a reload keeps the pages the agent loaded
    _more: str = ""  # the next page's cursor (paging.ListCursor)

    @rx.var
    def unread_prefix(self) -> str:
        """ "(3) " in the tab title while 3 conversations have unread messages."""
        n = self.counts.get("unread", 0)
        return f"({n}) " if n else ""

    @rx.var
    def tab_title(self) -> str:
        return f"{self.unread_prefix}Inbox · CT Text"

    def _remember(self, user: CurrentUser) -> None:
        self._account_id, self._user_id, self._tz = user.account_id, user.user_id, user.timezone

    def _scope(self) -> inbox_views.ListScope:
        return inbox_views.scope_for(
            self.view, self.status_filter, self.queue_hours, self._user_id
        )

    def _view(self) -> tuple:
        """What the list depends on, besides the data (the arguments of compute_list)."""
        return (
            self._account_id,
            self._tz,
            self.query,
            self.list_filter,
            self.sort,
            self._scope(),
            self._narrow(),
            self._list_limit,
        )

    def _narrow(self) -> tuple[int, int]:
        """(label id, user id whose mentions) the list is narrowed to; 0 for none."""
        return (self.label_filter, self._user_id if self.mentions_view else 0)

    def _apply_list(self, result: ListResult) -> None:
        self.rows, self.counts = list(result.rows), dict(result.counts)  # a copy per tab
        self._list_edge = result.edge
        self._more, self.has_more = result.more, bool(result.more)

    def _load_list(self, session) -> None:
        self._apply_list(list_for(session, *self._view()))

    def _reload_list(self) -> None:
        """Another search, filter, sort or view: its first page."""
        self._list_limit = LIST_PAGE
        with db.session_scope() as session:
            self._load_list(session)

    @rx.event
    def show_more(self):
        """ "Show more conversations": the page after the last row shown (keyset paging)."""
        cursor = ListCursor.decode(self._more)
        if cursor is None or self._current_user() is None:
            return
        with db.session_scope() as session:
            rows, self._more = list_page(
                session, *self._view()[:-1], LIST_PAGE, utc_now(), after=cursor
            )
        shown = {r.id for r in self.rows}
        self.rows = [*self.rows, *(r for r in rows if r.id not in shown)]
        self.has_more = bool(self._more)
        self._list_limit = max(LIST_PAGE, len(self.rows))

    @rx.event
    def set_query(self, value: str):
        self.query = value[:200]
        self._reload_list()

    @rx.event
    def clear_query(self):
        return InboxListState.set_query("")

    @rx.event
    def set_list_filter(self, value: str):
        self.list_filter = value if value in convs.FILTERS else "all"
        self._reload_list()

    @rx.event
    def set_sort(self, value: str):
        self.sort = value if value in convs.SORTS else "recent"
        self._reload_list()

    @rx.event
    def set_view(self, value: str):
        """The view switcher: "all", "mine", "unassigned", "queue" (any inbox_views.VIEWS key)."""
        self.view = value if value in inbox_views.VIEWS else "all"
        self._reload_list()

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value if value in team_status.STATUS_FILTERS else "open"
        self._reload_list()

    @rx.event
    def set_queue_hours(self, value: str):
        hours = int(value) if str(value).isdigit() else 2
        self.queue_hours = hours if hours in team_status.QUEUE_HOURS else 2
        self._reload_list()
