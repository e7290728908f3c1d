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
from ctreflex.services import inbox_views, list_order, notes
from ctreflex.services import status as team_status
from ctreflex.services.auth import CurrentUser
from ctreflex.services.conversations import ConversationRow
from ctreflex.services.paging import ListCursor
from ctreflex.state.auth import AuthState

LIST_PAGE = 50  # rows a tab loads at first and per "Show more conversations"


@dataclasses.dataclass(frozen=True)
class ListResult:
    """A tab's list, or (`ids` set) a patch of it: the fresh rows of those conversations that
    are in the view now, in order; the others of `ids` have left it."""

    rows: list[ConversationRow]
    counts: dict[str, int]
    edge: float  # epoch s when a listed window next changes state, 0 if none
    read_now: bool = False  # mark_id was unread and is now read
    more: str = ""  # the next page's cursor (paging.ListCursor.encode), "" when none
    keys: dict[int, list_order.SortKey] = dataclasses.field(default_factory=dict)
    ids: frozenset[int] | None = None  # None: the whole list
    limit: int = LIST_PAGE  # the rows the tab shows at most (its pages)


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
    ids: frozenset[int] | None = None,
) -> tuple[list[ConversationRow], str]:
    """A page of rows (with assignee and status) after `after` (only those of `ids` if
    given), and the next page's cursor."""
    where = [*inbox_views.clauses(scope, now), *notes.narrow_clauses(*narrow)]  # + labels
    if ids is not None:
        where.append(list_order.ids_clause(ids))
    rows, cursor = convs.list_page(
        session=session,
        account_id=account_id,
        tz=tz,
        query=query,
        filter=list_filter,
        sort=inbox_views.sort_for(scope, sort),
        now=now,
        where=where,
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
    ids: frozenset[int] | None = None,
) -> ListResult:
    """The first `limit` rows (with assignee and status), their sort keys, the filter counts
    in the same view, the epoch s when the list next changes by itself (a window's state, a
    snooze's end; 0: never) and the cursor of the rows after them. `ids`: only those
    conversations' rows (a patch; see merge_rows)."""
    now = utc_now()
    order = inbox_views.sort_for(scope, sort)
    rows, more = list_page(
        session,
        account_id,
        tz,
        query,
        list_filter,
        sort,
        scope,
        narrow,
        limit if ids is None else max(len(ids), 1),
        now,
        ids=ids,
    )
    where = [*inbox_views.clauses(scope, now), *notes.narrow_clauses(*narrow)]
    counts = convs.filter_counts(session=session, account_id=account_id, now=now, where=where)
    keys = list_order.sort_keys(
        session=session, account_id=account_id, ids=[r.id for r in rows], sort=order, now=now
    )
    edges = [
        convs.next_list_change(rows, now),
        team_status.next_wake(session=session, account_id=account_id, now=now),
    ]
    soonest = min((e for e in edges if e is not None), default=None)
    edge = time.time() + soonest if soonest is not None else 0.0
    return ListResult(
        rows, counts, edge, more="" if ids is not None else more, keys=keys, ids=ids, limit=limit
    )


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
    ids: frozenset[int] | None = None,
) -> ListResult:
    """Runs in a worker thread: mark the open conversation read (if asked), then the list (or
    only the rows of `ids`)."""
    with db.session_scope() as session:
        read_now = False
        if mark_id:
            read_now = convs.mark_read(
                session=session, account_id=account_id, conversation_id=mark_id
            )
        result = list_for(
            session, account_id, tz, query, list_filter, sort, scope, narrow, limit, ids
        )
    return dataclasses.replace(result, read_now=read_now)


def merge_rows(
    rows: list[ConversationRow], keys: dict[int, list_order.SortKey], patch: ListResult
) -> tuple[list[ConversationRow], dict[int, list_order.SortKey]] | None:
    """The list with the patch's rows put in: a changed row in its place, a new one where the
    sort puts it, a row of `patch.ids` the patch no longer has taken out; the rest untouched.
    None when that would not equal a fresh load of the tab's pages (`patch.limit` rows): a
    row's key unknown, a row left a list that may have been cut (the one that would move up is
    not known here), or a row came in that would push the last one to the next page."""
    ids = patch.ids or frozenset()
    kept = [r for r in rows if r.id not in ids]
    if len(rows) >= patch.limit and len(kept) + len(patch.rows) < len(rows):
        return None
    merged_keys = {i: k for i, k in keys.items() if i not in ids}
    merged_keys.update(patch.keys)
    merged = kept + list(patch.rows)
    if any(r.id not in merged_keys for r in merged) or len(merged) > patch.limit:
        return None
    merged.sort(key=lambda r: merged_keys[r.id])
    return merged, {r.id: merged_keys[r.id] for r in merged}


class InboxRowsState(AuthState):
    """What a live update changes in the list: its rows, the filter counts and whether more
    rows follow, in a state of their own. The browser keeps one context per state and redraws
    every component reading a state that changed: with these beside the search, view, filter
    and sort controls, each message redrew the controls too (three menus among them). Now a
    message redraws the rows, the count badges and the title. InboxListState, a substate, reads
    and writes these as its own."""

    rows: list[ConversationRow] = []
    counts: dict[str, int] = {name: 0 for name in convs.FILTERS}
    has_more: bool = False  # more rows than shown: "Show more conversations"

    @rx.var
    def unread_prefix(self) -> str:
        """ "(3) " in the tab title while 3 conversations have unread messages."""
        n = self.counts.get("unread", 0)
        return f"({n}) " if n else ""

    @rx.var
    def tab_title(self) -> str:
        return f"{self.unread_prefix}Inbox · CT Text"


class InboxListState(InboxRowsState):
    """The conversation list: its search, filter, sort and view (the rows it shows are in
    InboxRowsState, its parent). A live list update changes only these states, so the browser
    re-renders the list, not the thread and composer (InboxState, a substate, reads and writes
    these as its own)."""

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

    _account_id: int = 0
    _user_id: int = 0
    _tz: str = "UTC"
    _list_edge: float = 0.0  # epoch s when a listed window next changes state
    _list_limit: int = LIST_PAGE  # rows shown: a reload keeps the pages the agent loaded
    _more: str = ""  # the next page's cursor (paging.ListCursor)
    _row_keys: dict[int, tuple] = {}  # each row's place in the sort (a live patch's merge)
    # +1 at each list shown: the live listener reads the list unlocked and puts it in only
    # when the tab has not shown a newer one meanwhile (an agent's own action)
    _list_gen: int = 0

    def _remember(self, user: CurrentUser) -> None:
        self._account_id, self._user_id, self._tz = user.account_id, user.user_id, user.timezone

    def _scope(self) -> inbox_views.ListScope:
        return inbox_views.scope_for(self.view, self.status_filter, self.queue_hours, self._user_id)

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

    def _apply_list(self, result: ListResult) -> bool:
        """Show a list, or put a patch's rows in (only those rows change: the list's unchanged
        rows keep their values, so the browser redraws the changed row alone). False when the
        patch does not fit (merge_rows): the caller loads the whole list."""
        shown = self.get_value("rows")
        self._list_gen += 1
        if result.ids is None:
            rows, keys = list(result.rows), dict(result.keys)  # a copy per tab
            self._list_edge = result.edge
            self._more = result.more
            if bool(result.more) != self.get_value("has_more"):
                self.has_more = bool(result.more)
        else:
            merged = merge_rows(shown, self.get_value("_row_keys"), result)
            if merged is None:
                return False
            rows, keys = merged
            now = time.time()
            edges = [e for e in (self._list_edge, result.edge) if e > now]
            self._list_edge = min(edges, default=0.0)
        self._row_keys = keys
        # assigned only when changed: Reflex sends every var assigned, equal or not
        if rows != shown:
            self.rows = rows
        if result.counts != self.get_value("counts"):
            self.counts = dict(result.counts)
        return True

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
        now = utc_now()
        with db.session_scope() as session:
            rows, self._more = list_page(session, *self._view()[:-1], LIST_PAGE, now, after=cursor)
            keys = list_order.sort_keys(  # the new rows' places, for the live patches
                session=session,
                account_id=self._account_id,
                ids=[r.id for r in rows],
                sort=inbox_views.sort_for(self._scope(), self.sort),
                now=now,
            )
        shown = {r.id for r in self.rows}
        self._row_keys = {**self._row_keys, **keys}
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
