"""The conversation list: its rows and filter counts, the search, filter and sort that pick
them, and the one computation the live listener shares between tabs (`compute_list`)."""

from __future__ import annotations

import dataclasses
import time

import reflex as rx

from ctreflex import db
from ctreflex.models import utc_now
from ctreflex.services import conversations as convs
from ctreflex.services.auth import CurrentUser
from ctreflex.services.conversations import ConversationRow
from ctreflex.state.auth import AuthState


@dataclasses.dataclass(frozen=True)
class ListResult:
    rows: list[ConversationRow]
    counts: dict[str, int]
    edge: float  # epoch s when a listed window next changes state, 0 if none
    read_now: bool  # mark_id was unread and is now read


def compute_list(
    account_id: int, tz: str, query: str, list_filter: str, sort: str, mark_id: int
) -> ListResult:
    """Runs in a worker thread: mark the open conversation read (if asked), then the list."""
    with db.session_scope() as session:
        read_now = False
        if mark_id:
            read_now = convs.mark_read(
                session=session, account_id=account_id, conversation_id=mark_id
            )
        now = utc_now()
        rows = convs.list_rows(
            session=session,
            account_id=account_id,
            tz=tz,
            query=query,
            filter=list_filter,
            sort=sort,
            now=now,
        )
        counts = convs.filter_counts(session=session, account_id=account_id, now=now)
        edge = convs.next_list_change(rows, now)
    return ListResult(rows, counts, time.time() + edge if edge is not None else 0.0, read_now)


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

    _account_id: int = 0
    _user_id: int = 0
    _tz: str = "UTC"
    _list_edge: float = 0.0  # epoch s when a listed window next changes state

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

    def _view(self) -> tuple:
        """What the list depends on, besides the data (the arguments of compute_list)."""
        return (self._account_id, self._tz, self.query, self.list_filter, self.sort)

    def _apply_list(self, result: ListResult) -> None:
        self.rows, self.counts = list(result.rows), dict(result.counts)  # a copy per tab
        self._list_edge = result.edge

    def _load_list(self, session) -> None:
        now = utc_now()
        self.rows = convs.list_rows(
            session=session,
            account_id=self._account_id,
            tz=self._tz,
            query=self.query,
            filter=self.list_filter,
            sort=self.sort,
            now=now,
        )
        self.counts = convs.filter_counts(session=session, account_id=self._account_id, now=now)
        edge = convs.next_list_change(self.rows, now)
        self._list_edge = time.time() + edge if edge is not None else 0.0

    def _reload_list(self) -> None:
        with db.session_scope() as session:
            self._load_list(session)

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
