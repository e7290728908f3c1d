"""The open conversation: its header, messages, contact details and opt-out ledger, what each
channel allows now; the page's on_load, heartbeat and live listener (ctreflex.pages.inbox.live).

The drafts made in the open conversation live in substates of `InboxState` (the composer,
the template picker); `load` and the listener reach them with `get_state` through `_drafts`.
"""

from __future__ import annotations

import time

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox import live, opened
from ctreflex.pages.inbox.listing import InboxListState, ListResult
from ctreflex.services import conversations as convs
from ctreflex.services import notes, thread_view
from ctreflex.services.conversations import ConversationDetail, LedgerEntry
from ctreflex.services.sms import ChannelOption
from ctreflex.services.thread_view import MessageRow

EMPTY_DETAIL = ConversationDetail(
    id=0,
    name="",
    first_name="",
    initials="",
    number="",
    country="",
    region="",
    profile_name="",
    wa_id="",
    channel="whatsapp",
    business_number="",
    window_state="none",
    window_text="",
    window_expires_ms=0,
    window_closes_at="",
    first_contact="",
    last_inbound="",
    marketing_opted_out=False,
    sms_opted_out=False,
)


#: the kinds of live event the substates' `_on_live` hooks react to: labels and mentions
#: (conversation), the window reminder (reminder), the picker's templates (template)
DRAFT_KINDS = frozenset({"conversation", "reminder", "template"})


def _conversation_id_from(path: str) -> int:
    """/inbox/42 -> 42; /inbox -> 0."""
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) == 2 and parts[0] == routes.INBOX.strip("/") and parts[1].isdigit():
        return int(parts[1])
    return 0


class InboxState(InboxListState):
    open_id: int = 0
    detail: ConversationDetail = EMPTY_DETAIL
    missing: bool = False
    messages: list[MessageRow] = []
    has_older: bool = False  # older messages than those shown: "Load older messages"
    details_toggled: bool = False

    # channel switch (WhatsApp / SMS), the price line, the contact's opt-out ledger
    channel_options: list[ChannelOption] = []
    cost_line: str = ""
    ledger: list[LedgerEntry] = []

    _detail_edge: float = 0.0  # epoch s when the open conversation's window next changes
    # +1 at each open conversation shown: the live listener reads it unlocked and shows it only
    # when the tab has not shown a newer one meanwhile (the agent switched channel, sent, ...)
    _open_gen: int = 0
    _older: str = ""  # the oldest message shown (thread_view.encode_key): older pages end there
    _since: str = ""  # set once older pages are loaded: reloads keep every message from it
    _beat: float = 0.0  # last heartbeat from the page (epoch s)
    _tab_hidden: bool = False  # the browser tab is in the background (set_tab_visibility)
    _tab_away: bool = False  # hidden, or shown in a window without focus: alerts go to it

    @rx.var
    def has_conversation(self) -> bool:
        return self.open_id > 0 and self.detail.id == self.open_id

    @rx.var
    def conversation_title(self) -> str:
        name = self.detail.name or "Conversation"
        return f"{self.unread_prefix}{name} · CT Text"

    @rx.var
    def is_sms(self) -> bool:
        return self.detail.channel == "sms"

    # ------------------------------------------------------------------ drafts (substates)

    async def _drafts(self) -> list[InboxState]:
        """The substates drafting in the open conversation (composer, template picker)."""
        subs = sorted(InboxState.get_substates(), key=lambda c: c.get_full_name())
        return [await self.get_state(cls) for cls in subs]

    def _reset_draft(self) -> None:
        """A substate forgets its draft (another conversation was opened)."""

    def _on_live(self, session, kinds: set, everything: bool) -> None:
        """A substate catches up with a batch of live events (after the thread's reload).
        Called when the batch has one of DRAFT_KINDS (or everything is reloaded)."""

    def _on_open(self, session) -> None:
        """A substate loads what it shows of the conversation just opened (on_load)."""

    # ------------------------------------------------------------------ loading

    def _clear_open(self, missing: bool) -> None:
        self._open_gen += 1
        self.detail, self.messages, self.missing = EMPTY_DETAIL, [], missing
        self.has_older, self._older, self._since = False, "", ""
        self.channel_options, self.ledger, self.cost_line = [], [], ""
        self._detail_edge = 0.0

    def _load_open(self, session) -> None:
        if not self.open_id:
            self._clear_open(missing=False)
            return
        self._show_open(
            opened.open_view(session, self._account_id, self.open_id, self._tz, self._since)
        )

    def _show_open(self, view: opened.OpenView | None) -> None:
        if view is None:
            self._clear_open(missing=True)
            return
        # assigned only when changed (Reflex sends every var assigned, equal or not); a copy
        # per tab: the live listener hands the same view to every tab that has it open
        fresh = {
            "detail": view.detail,
            "missing": False,
            "messages": view.messages,
            "ledger": view.ledger,
            "channel_options": view.channel_options,
            "cost_line": view.cost_line,
            "has_older": view.has_older,
        }
        for name, value in fresh.items():
            if value != self.get_value(name):
                setattr(self, name, list(value) if isinstance(value, list) else value)
        self._open_gen += 1
        self._older = view.oldest
        self._detail_edge = view.edge

    def _reload(self, *, thread: bool = True) -> None:
        """The open conversation (unless `thread` is False) and the list, from the database."""
        with db.session_scope() as session:
            if thread:
                self._load_open(session)
            self._load_list(session)

    @rx.event
    async def load(self):
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        self._apply(user)
        self._remember(user)
        new_id = _conversation_id_from(self.router.url.path)
        if new_id != self.open_id:
            self._since = ""  # another conversation: its newest page
            for draft in await self._drafts():
                draft._reset_draft()
        self.open_id = new_id
        was_unread = False
        with db.session_scope() as session:
            if new_id:
                was_unread = convs.mark_read(
                    session=session, account_id=self._account_id, conversation_id=new_id
                )
            self._load_open(session)
            self._load_list(session)
            for draft in await self._drafts():
                draft._on_open(session)
        self.loaded = True
        events: list = [rx.call_script("window.ctInbox && window.ctInbox.opened()")]
        if was_unread and self.has_conversation:
            events.append(InboxState.send_read_receipt)
        live.wake(self.router.session.client_token)  # its timeout, for the conversation now open
        return events

    @rx.event
    def load_older(self):
        """ "Load older messages": the page before the oldest message shown (keyset paging)."""
        before = thread_view.decode_key(self._older)
        if before is None or not self.has_conversation or self._current_user() is None:
            return
        with db.session_scope() as session:
            page = notes.thread_page(
                session=session,
                account_id=self._account_id,
                conversation_id=self.open_id,
                tz=self._tz,
                before=before,
            )
        self.messages = thread_view.join_pages(page.rows, self.messages)
        self.has_older = page.has_older
        if page.oldest is not None:
            self._older = self._since = thread_view.encode_key(page.oldest)

    @rx.event
    def toggle_details(self):
        self.details_toggled = not self.details_toggled

    # ------------------------------------------------------------------ live updates

    @rx.event
    def heartbeat(self, _now: str = ""):
        """Pinged by the inbox page on mount and every 45 s: keeps (or restarts) this tab's
        listener. Started from here rather than from on_load, because Reflex cancels what an
        on_load chain started when the tab navigates."""
        self._beat = time.time()
        if live.is_listening(self.router.session.client_token):
            return
        if not self._account_id:
            user = self._current_user()
            if user is None:
                return
            self._remember(user)
        return InboxState.listen

    @rx.event(background=True)
    async def listen(self):
        async for alert in live.listen(self):
            yield alert

    @rx.event
    def set_tab_visibility(self, value: str):
        """The page reports when its browser tab is hidden, or shown without focus ("away"),
        and when it is back (assets/alerts.js): a message that arrives in the open conversation
        while hidden stays unread until the agent comes back; only a tab that is not in front
        of the agent is sent new-message alerts (a sound, a desktop notification)."""
        was_hidden, self._tab_hidden = self._tab_hidden, value == "hidden"
        self._tab_away = value in ("hidden", "away")
        if not was_hidden or self._tab_hidden or not self.open_id:
            return  # the agent saw the conversation before: nothing new to mark read
        if self._current_user() is None:
            return
        with db.session_scope() as session:
            read_now = convs.mark_read(
                session=session, account_id=self._account_id, conversation_id=self.open_id
            )
        if read_now:
            self._reload()
            return InboxState.send_read_receipt

    async def _refresh(
        self,
        batch: list[dict],
        everything: bool,
        pre: ListResult | None = None,
        planned: live.Plan = live.Plan(None, 0, None),
        pre_open: opened.OpenView | None = None,
        gens: tuple[int, int] | None = None,
    ) -> bool:
        """Bring what the batch touched up to date; True when the open conversation was just
        read. `pre`: the list or its patch (and mark_read) already computed for `planned`
        (live.plan), used when the view and the open conversation have not changed since;
        `pre_open`: the open conversation read after the batch (live._shared_open); `gens`:
        (_list_gen, _open_gen) when they were read: a list or conversation the tab showed since
        (its own action, read later) is newer than them, so the tab reads again instead."""
        read_now = False
        ids = {e.get("conversation_id") for e in batch}
        kinds = {e.get("type") for e in batch}
        open_hit = everything or self.open_id in ids
        now = time.time()
        plan = live.plan(self, batch, everything)
        marked = pre is not None and planned.mark_id == plan.mark_id  # mark_read done with pre
        usable = marked and planned.view == plan.view and planned.ids == plan.ids
        if gens is not None and gens != (self._list_gen, self._open_gen):
            usable = usable and gens[0] == self._list_gen
            pre_open = pre_open if gens[1] == self._open_gen else None
        # the drafts' hooks react to these kinds only (a message or status batch skips them)
        drafts = await self._drafts() if everything or kinds & DRAFT_KINDS else []
        with db.session_scope() as session:  # opens a connection only if something reads
            if plan.mark_id:
                if marked:
                    read_now = pre.read_now
                else:
                    read_now = convs.mark_read(
                        session=session, account_id=self._account_id, conversation_id=plan.mark_id
                    )
            if open_hit or (self._detail_edge and now >= self._detail_edge):
                if (
                    pre_open is not None
                    and pre_open.conversation_id == self.open_id
                    and pre_open.since == self._since
                ):
                    self._show_open(pre_open)
                else:
                    self._load_open(session)
            if plan.view is not None and not (usable and self._apply_list(pre)):
                self._load_list(session)
            for draft in drafts:
                draft._on_live(session, kinds, everything)
        return read_now

    @rx.event(background=True)
    async def send_read_receipt(self):
        """Blue ticks on the customer's phone once the agent has opened the conversation."""
        async with self:
            account_id, conversation_id = self._account_id, self.open_id
            whatsapp = self.detail.channel == "whatsapp"
        if whatsapp:
            await live.read_receipt(account_id, conversation_id)
