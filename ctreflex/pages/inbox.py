"""/inbox and /inbox/[conversation_id]: conversation list | thread | contact details.

Live updates: each open inbox tab runs one background listener (`InboxState.listen`) that
waits on its account's event stream (`ctreflex.realtime.broker`), with a timeout of at most
30 s or until the next 24-hour-window edge it shows, and then reloads only what changed.
Nothing is linked between tabs. The page starts the listener from a client heartbeat (on mount
and every 45 s), never from on_load (Reflex cancels an on_load chain's work on navigation).
The listener ends when the tab leaves the inbox, when its socket has been gone for a minute,
when no heartbeat came for 150 s, or when the sign-in ends. A process-wide registry keyed by
the tab's token makes sure one tab never runs two listeners.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Any

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.composer import (
    HEADER_UPLOAD_ID,
    UPLOAD_ID,
    PickerField,
    composer,
    template_picker,
)
from ctreflex.components.conversation_list import conversation_list
from ctreflex.components.layout import app_page
from ctreflex.components.thread import (
    details_panel,
    empty_thread,
    message_log,
    not_found,
    thread_header,
)
from ctreflex.models import utc_now
from ctreflex.realtime import broker
from ctreflex.services import conversations as convs
from ctreflex.services.conversations import (
    ConversationDetail,
    ConversationRow,
    LedgerEntry,
    MessageRow,
)
from ctreflex.services.sms import ChannelOption
from ctreflex.services.templates import PreviewView, TemplateRow
from ctreflex.sms import segments
from ctreflex.state.auth import AuthState
from ctreflex.whatsapp.limits import (
    AUDIO_UNSUPPORTED_REASON,
    MAX_TEXT_CHARS,
    MediaRuleError,
    grapheme_count,
)

log = logging.getLogger("ctreflex.inbox")
SMS_MAX_CHARS = 1600  # the provider's limit (ctreflex.services.sms.MAX_BODY)


@dataclasses.dataclass(frozen=True)
class _FieldError:
    field: str
    message: str


LISTEN_MAX_WAIT = 30.0  # seconds between wake-ups at most
HEARTBEAT_MS = 45_000  # the open inbox page pings this often (browsers may slow it to 60 s)
HEARTBEAT_TIMEOUT = 150.0  # no ping for this long: the tab is gone or elsewhere, stop
DISCONNECT_GRACE = 60.0  # a tab whose socket is gone this long stops listening
AUDIO_EXTENSIONS = (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".amr", ".weba")

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


@dataclasses.dataclass(eq=False)
class _Listener:
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


# client token -> the listener running for that tab in this process. A tab's events are
# always handled by the worker holding its socket, so a per-process registry is enough.
_LISTENERS: dict[str, _Listener] = {}


def listener_count() -> int:
    return len(_LISTENERS)


# The account's list, reloaded once per batch of events and shared by the tabs that show the
# same view: the broker hands the same event dicts to every subscriber of this process, so
# (view, open conversation to mark read, ids of the batch's events) names one reload. Entries
# keep their batch alive (so the ids can't be reused) and are dropped after LIST_SHARE_TTL s.
LIST_SHARE_TTL = 2.0


@dataclasses.dataclass(frozen=True)
class _ListResult:
    rows: list[ConversationRow]
    counts: dict[str, int]
    edge: float  # epoch s when a listed window next changes state, 0 if none
    read_now: bool  # mark_id was unread and is now read


_SHARED_LISTS: dict[tuple, tuple[float, asyncio.Future, list[dict]]] = {}


def _compute_list(
    account_id: int, tz: str, query: str, list_filter: str, sort: str, mark_id: int
) -> _ListResult:
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
    return _ListResult(rows, counts, time.time() + edge if edge is not None else 0.0, read_now)


async def _shared_list(view: tuple, mark_id: int, batch: list[dict]) -> tuple[_ListResult, bool]:
    """The list for `view` after `batch`, computed off the event loop, once for all the tabs
    asking for the same thing. Also whether this caller computed it (it alone reports
    read_now, so one read receipt is sent)."""
    if not batch:  # a timeout or a poke: nothing to share
        return await asyncio.to_thread(_compute_list, *view, mark_id), True
    now = time.monotonic()
    for key, (born, _, _) in list(_SHARED_LISTS.items()):
        if now - born > LIST_SHARE_TTL:
            del _SHARED_LISTS[key]
    key = (view, mark_id, tuple(id(e) for e in batch))
    hit = _SHARED_LISTS.get(key)
    if hit is not None:
        return await asyncio.shield(hit[1]), False
    task = asyncio.ensure_future(asyncio.to_thread(_compute_list, *view, mark_id))
    _SHARED_LISTS[key] = (now, task, batch)
    return await asyncio.shield(task), True


async def _socket_connected(token: str) -> bool:
    """Whether the tab still has a socket (any worker). True when it can't be known."""
    try:
        from reflex_base.registry import RegistrationContext

        namespace = RegistrationContext.get().app.event_namespace
        if namespace is None:
            return True
        return await namespace._token_manager.is_token_connected(token)
    except Exception:  # noqa: BLE001 - internals moved: keep listening, the path check stays
        return True


def _conversation_id_from(path: str) -> int:
    """/inbox/42 -> 42; /inbox -> 0."""
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) == 2 and parts[0] == routes.INBOX.strip("/") and parts[1].isdigit():
        return int(parts[1])
    return 0


async def _read_receipt(account_id: int, conversation_id: int) -> None:
    if not (account_id and conversation_id):
        return
    try:
        from ctreflex.services import outbound

        await outbound.send_read_receipt(account_id=account_id, conversation_id=conversation_id)
    except Exception:  # a receipt is a courtesy: never disturb the agent with it
        log.info("read receipt not sent", exc_info=True)


async def _next_batch(sub, entry: _Listener, timeout: float) -> list[dict]:
    """The next events, or [] on timeout or when the tab pokes its listener."""
    getter = asyncio.ensure_future(sub.next_batch(timeout))
    waker = asyncio.ensure_future(entry.wake.wait())
    try:
        await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waker.cancel()
        if not getter.done():
            getter.cancel()
    entry.wake.clear()
    if getter.done() and not getter.cancelled() and getter.exception() is None:
        return getter.result()
    return []


class InboxListState(AuthState):
    """The conversation list's rows and counts, in a state of their own: a live list update
    changes only this state, so the browser re-renders the list, not the thread and composer
    (InboxState, a substate, reads and writes these as its own)."""

    rows: list[ConversationRow] = []
    counts: dict[str, int] = {name: 0 for name in convs.FILTERS}


class InboxState(InboxListState):
    query: str = ""
    list_filter: str = "all"
    sort: str = "recent"
    loaded: bool = False

    open_id: int = 0
    detail: ConversationDetail = EMPTY_DETAIL
    missing: bool = False
    messages: list[MessageRow] = []
    details_toggled: bool = False

    composer_error: str = ""
    reply_to_id: int = 0
    reply_author: str = ""
    reply_snippet: str = ""
    attachment_id: int = 0
    attachment_name: str = ""
    attachment_size: str = ""
    attachment_kind: str = ""
    uploading: bool = False
    upload_progress: int = 0

    # channel switch (WhatsApp / SMS), the price line, the contact's opt-out ledger
    channel_options: list[ChannelOption] = []
    cost_line: str = ""
    sms_summary: str = segments.count("").summary
    ledger: list[LedgerEntry] = []

    # template picker
    picker_open: bool = False
    picker_query: str = ""
    picker_rows: list[TemplateRow] = []
    picker_id: int = 0
    picker_title: str = ""
    picker_fields: list[PickerField] = []
    preview: PreviewView = PreviewView()
    picker_cost: str = ""
    picker_error: str = ""  # about the template as a whole (status, US marketing, opt-out)
    picker_notice: str = ""  # e.g. the chosen template was paused while the picker was open
    header_media_id: int = 0
    header_media_name: str = ""
    header_uploading: bool = False
    picker_sending: bool = False
    _picker_values: dict[str, str] = {}

    _account_id: int = 0
    _user_id: int = 0
    _tz: str = "UTC"
    _outbox: list[dict[str, Any]] = []
    _list_edge: float = 0.0  # epoch s when a listed window next changes state
    _detail_edge: float = 0.0  # epoch s when the open conversation's window next changes
    _beat: float = 0.0  # last heartbeat from the page (epoch s)

    # ------------------------------------------------------------------ computed

    @rx.var
    def has_conversation(self) -> bool:
        return self.open_id > 0 and self.detail.id == self.open_id

    def _option(self, channel: str) -> ChannelOption | None:
        return next((o for o in self.channel_options if o.channel == channel), None)

    @rx.var
    def is_sms(self) -> bool:
        return self.detail.channel == "sms"

    @rx.var
    def composer_locked(self) -> bool:
        if self.detail.id == 0:
            return True
        if self.detail.channel == "whatsapp":
            if not self.whatsapp_enabled:
                return True
            return self.detail.window_state not in ("open", "closing")
        option = self._option(self.detail.channel)
        return option is not None and not option.free_form

    @rx.var
    def attach_allowed(self) -> bool:
        option = self._option(self.detail.channel)
        return option is None or option.attachments != ""

    @rx.var
    def attach_hint(self) -> str:
        option = self._option(self.detail.channel)
        if option is None or option.channel == "whatsapp":
            return "Attach a photo (JPEG/PNG, 5 MB), video (MP4/3GPP, 16 MB) or PDF (100 MB)"
        return option.attachments or option.note or "SMS carries text only here"

    @rx.var
    def locked_message(self) -> str:
        if self.detail.channel == "sms":
            option = self._option("sms")
            return (option.reason if option else "") or "SMS can't be sent to this customer."
        if self.detail.channel == "whatsapp" and not self.whatsapp_enabled:
            return "WhatsApp isn't included in your plan, so replies can't be sent here."
        if self.detail.window_state == "none":
            return (
                "The 24-hour window hasn't opened: this customer hasn't written yet. Only an "
                "approved template can reach them."
            )
        return (
            "The 24-hour window is closed. Only an approved template can reach this customer now."
        )

    @rx.var
    def show_template_button(self) -> bool:
        option = self._option("whatsapp")
        if option is not None:
            return option.available
        return self.detail.channel == "whatsapp" and self.whatsapp_enabled

    @rx.var
    def picker_has_errors(self) -> bool:
        return self.picker_error != "" or any(f.error for f in self.picker_fields)

    @rx.var
    def attachment_url(self) -> str:
        return f"/media/{self.attachment_id}" if self.attachment_id else ""

    # ------------------------------------------------------------------ loading

    def _view(self) -> tuple:
        """What the list depends on, besides the data (the arguments of _compute_list)."""
        return (self._account_id, self._tz, self.query, self.list_filter, self.sort)

    def _apply_list(self, result: _ListResult) -> None:
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

    def _load_open(self, session) -> None:
        if not self.open_id:
            self.detail, self.messages, self.missing = EMPTY_DETAIL, [], False
            self.channel_options, self.ledger, self.cost_line = [], [], ""
            self._detail_edge = 0.0
            return
        now = utc_now()
        detail = convs.get_detail(
            session=session,
            account_id=self._account_id,
            conversation_id=self.open_id,
            tz=self._tz,
            now=now,
        )
        if detail is None:
            self.detail, self.messages, self.missing = EMPTY_DETAIL, [], True
            self.channel_options, self.ledger, self.cost_line = [], [], ""
            self._detail_edge = 0.0
            return
        self.detail, self.missing = detail, False
        self.messages = convs.thread_rows(
            session=session,
            account_id=self._account_id,
            conversation_id=self.open_id,
            tz=self._tz,
            now=now,
        )
        self.ledger = convs.ledger_rows(
            session=session,
            account_id=self._account_id,
            conversation_id=self.open_id,
            tz=self._tz,
        )
        self._load_channel(session)
        edge = convs.next_list_change([_as_row(detail)], now)
        self._detail_edge = time.time() + edge if edge is not None else 0.0

    def _load_channel(self, session) -> None:
        """What each channel allows now, and the price of a free-form message on the
        conversation's channel."""
        from ctreflex.services import sms, templates

        self.channel_options = sms.channel_options(
            session=session, account_id=self._account_id, conversation_id=self.open_id
        )
        self.cost_line = templates.cost(
            session=session,
            account_id=self._account_id,
            conversation_id=self.open_id,
            template_id=None,
        ).summary

    def _reset_picker(self) -> None:
        self.picker_open = False
        self.picker_query = ""
        self.picker_rows = []
        self._clear_template()

    def _clear_template(self) -> None:
        self.picker_id, self.picker_title = 0, ""
        self.picker_fields, self._picker_values = [], {}
        self.preview = PreviewView()
        self.picker_cost = self.picker_error = self.picker_notice = ""
        self.header_media_id, self.header_media_name = 0, ""
        self.header_uploading = self.picker_sending = False

    def _reset_composer(self) -> None:
        self._reset_picker()
        self.sms_summary = segments.count("").summary
        self.composer_error = ""
        self.reply_to_id, self.reply_author, self.reply_snippet = 0, "", ""
        self.attachment_id = 0
        self.attachment_name = self.attachment_size = self.attachment_kind = ""
        self.uploading, self.upload_progress = False, 0

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        self._apply(user)
        self._account_id, self._user_id, self._tz = user.account_id, user.user_id, user.timezone
        new_id = _conversation_id_from(self.router.url.path)
        if new_id != self.open_id:
            self._reset_composer()
        self.open_id = new_id
        was_unread = False
        with db.session_scope() as session:
            if new_id:
                was_unread = convs.mark_read(
                    session=session, account_id=self._account_id, conversation_id=new_id
                )
            self._load_open(session)
            self._load_list(session)
        self.loaded = True
        events: list = [rx.call_script("window.ctInbox && window.ctInbox.opened()")]
        if was_unread and self.has_conversation:
            events.append(InboxState.send_read_receipt)
        entry = _LISTENERS.get(self.router.session.client_token)
        if entry is not None:
            entry.wake.set()  # recompute its timeout for the conversation now open
        return events

    @rx.event
    def heartbeat(self, _now: str = ""):
        """Pinged by the inbox page on mount and every 45 s: keeps (or restarts) this tab's
        listener. Started from here rather than from on_load, because Reflex cancels what an
        on_load chain started when the tab navigates."""
        self._beat = time.time()
        if _LISTENERS.get(self.router.session.client_token) is not None:
            return
        if not self._account_id:
            user = self.current_user()
            if user is None:
                return
            self._account_id, self._user_id, self._tz = (
                user.account_id,
                user.user_id,
                user.timezone,
            )
        return InboxState.listen

    # ------------------------------------------------------------------ live updates

    def _listen_timeout(self) -> float:
        timeout = LISTEN_MAX_WAIT
        now = time.time()
        for edge in (self._list_edge, self._detail_edge):
            if edge > now:
                timeout = min(timeout, edge - now + 0.5)
        return max(timeout, 0.5)

    def _on_inbox(self) -> bool:
        path = (self.router.url.path or "").rstrip("/")
        return path == routes.INBOX or path.startswith(routes.INBOX + "/")

    def _plan(self, batch: list[dict], everything: bool) -> tuple[tuple | None, int]:
        """What _refresh will need for the list: the view to reload (None: the list stays)
        and the open conversation to mark read first (0: none)."""
        ids = {e.get("conversation_id") for e in batch}
        kinds = {e.get("type") for e in batch}
        open_hit = everything or self.open_id in ids
        mark_id = 0
        if self.open_id and open_hit and ("message" in kinds or everything):
            mark_id = self.open_id  # the agent is looking at it: a message arriving is read
        if (
            everything
            or kinds & {"message", "conversation"}
            or (self._list_edge and time.time() >= self._list_edge)
        ):
            return self._view(), mark_id
        return None, mark_id

    def _refresh(
        self,
        batch: list[dict],
        everything: bool,
        pre: _ListResult | None = None,
        planned: tuple[tuple | None, int] = (None, 0),
    ) -> bool:
        """Reload what the batch touched; True when the open conversation was just read.
        `pre`: the list (and mark_read) already computed for `planned` (see _plan), used
        when the view and the open conversation have not changed since."""
        read_now = False
        ids = {e.get("conversation_id") for e in batch}
        kinds = {e.get("type") for e in batch}
        open_hit = everything or self.open_id in ids
        now = time.time()
        view, mark_id = self._plan(batch, everything)
        marked = pre is not None and planned[1] == mark_id  # mark_read done along with pre
        usable = marked and planned[0] == view
        with db.session_scope() as session:
            if mark_id:
                if marked:
                    read_now = pre.read_now
                else:
                    read_now = convs.mark_read(
                        session=session, account_id=self._account_id, conversation_id=mark_id
                    )
            if open_hit or (self._detail_edge and now >= self._detail_edge):
                self._load_open(session)
            if view is not None:
                if usable:
                    self._apply_list(pre)
                else:
                    self._load_list(session)
            if self.picker_open and (everything or "template" in kinds):
                self._load_picker_rows(session)  # paused templates drop out live
        return read_now

    @rx.event(background=True)
    async def send_read_receipt(self):
        """Blue ticks on the customer's phone once the agent has opened the conversation."""
        async with self:
            account_id, conversation_id = self._account_id, self.open_id
            whatsapp = self.detail.channel == "whatsapp"
        if whatsapp:
            await _read_receipt(account_id, conversation_id)

    @rx.event(background=True)
    async def listen(self):
        token = self.router.session.client_token
        if not token or token in _LISTENERS:
            return
        entry = _Listener()
        _LISTENERS[token] = entry
        reason = "no account"
        try:
            async with self:
                account_id = self._account_id
            if not account_id:
                return
            log.info("inbox listener started (tab %s…, account %s)", token[:8], account_id)
            async with broker.subscribe(account_id) as sub:
                async with self:
                    view = self._view()
                first = await asyncio.to_thread(_compute_list, *view, 0)
                async with self:  # catch up on what arrived between page load and now
                    if self._account_id != account_id or self.current_user() is None:
                        reason = "signed out"  # meanwhile (the list was computed unlocked)
                        return
                    if self._view() == view:
                        self._apply_list(first)
                    with db.session_scope() as session:
                        if self._view() != view:
                            self._load_list(session)
                        if self.open_id:
                            self._load_open(session)
                    timeout = self._listen_timeout()
                gone_since: float | None = None
                missed = False
                while True:
                    batch = await _next_batch(sub, entry, timeout)
                    if not await _socket_connected(token):
                        gone_since = gone_since or time.monotonic()
                        if time.monotonic() - gone_since > DISCONNECT_GRACE:
                            reason = "tab gone"
                            break
                        missed = missed or bool(batch)
                        continue
                    gone_since = None
                    async with self:
                        if not self._on_inbox() or self._account_id != account_id:
                            reason = "left the inbox"
                            break
                        if time.time() - self._beat > HEARTBEAT_TIMEOUT:
                            reason = "no heartbeat"
                            break
                        if self.current_user() is None:
                            reason = "signed out"
                            break
                        everything = missed or sub.overflowed
                        sub.overflowed, missed = False, False
                        planned = self._plan(batch, everything)
                    # the list (and marking the open conversation read) off the event loop,
                    # once for all this account's tabs showing the same view
                    pre = None
                    if planned[0] is not None:
                        pre, computed = await _shared_list(planned[0], planned[1], batch)
                        if not computed:
                            pre = dataclasses.replace(pre, read_now=False)
                    async with self:
                        if self._account_id != account_id or self.current_user() is None:
                            reason = "signed out"  # while the list was computed unlocked
                            break
                        read_now = self._refresh(batch, everything, pre, planned)
                        receipt_for = self.open_id if read_now else 0
                        timeout = self._listen_timeout()  # for the next wait
                    if receipt_for:
                        await _read_receipt(account_id, receipt_for)
        except Exception:
            reason = "error"
            log.exception("inbox listener failed")
        finally:
            if _LISTENERS.get(token) is entry:
                del _LISTENERS[token]
            log.info("inbox listener stopped (tab %s…): %s", token[:8], reason)

    # ------------------------------------------------------------------ list controls

    @rx.event
    def set_query(self, value: str):
        self.query = value[:200]
        with db.session_scope() as session:
            self._load_list(session)

    @rx.event
    def clear_query(self):
        return InboxState.set_query("")

    @rx.event
    def set_list_filter(self, value: str):
        self.list_filter = value if value in convs.FILTERS else "all"
        with db.session_scope() as session:
            self._load_list(session)

    @rx.event
    def set_sort(self, value: str):
        self.sort = value if value in convs.SORTS else "recent"
        with db.session_scope() as session:
            self._load_list(session)

    @rx.event
    def toggle_details(self):
        self.details_toggled = not self.details_toggled

    # ------------------------------------------------------------------ composer

    @rx.event
    def start_reply(self, message_id: int):
        with db.session_scope() as session:
            author, snippet = convs.message_snippet(
                session=session,
                account_id=self._account_id,
                conversation_id=self.open_id,
                message_id=int(message_id),
            )
        if not author:
            return
        self.reply_to_id, self.reply_author, self.reply_snippet = int(message_id), author, snippet
        return rx.set_focus("composer-text")

    @rx.event
    def cancel_reply(self):
        self.reply_to_id, self.reply_author, self.reply_snippet = 0, "", ""

    @rx.event
    def send(self, form: dict):
        body = str((form or {}).get("message", "") or "")
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not self.has_conversation:
            return
        if self.composer_locked:
            self.composer_error = self.locked_message
            return
        if self.uploading:
            self.composer_error = "Wait for the upload to finish, then send."
            return
        channel = "sms" if self.is_sms else "whatsapp"
        if channel == "sms":
            if self.reply_to_id:
                self.composer_error = (
                    "An SMS can't quote a message: cancel the reply or switch to WhatsApp."
                )
                return
            if not body.strip() and not self.attachment_id:
                self.composer_error = "Type a message first."
                return
            if len(body.strip()) > SMS_MAX_CHARS:
                self.composer_error = (
                    f"An SMS can be at most {SMS_MAX_CHARS:,} characters; this one has "
                    f"{len(body.strip()):,}. Shorten it or split it in two."
                )
                return
        elif not self.attachment_id:
            if not body.strip():
                self.composer_error = "Type a message first."
                return
            length = grapheme_count(body)
            if length > MAX_TEXT_CHARS:
                self.composer_error = (
                    f"This message is {length:,} characters; WhatsApp allows {MAX_TEXT_CHARS:,}."
                    " Shorten it or split it in two."
                )
                return
        self._outbox.append(
            {
                "account_id": user.account_id,
                "user_id": user.user_id,
                "conversation_id": self.open_id,
                "channel": channel,
                "body": body,
                "reply_to_id": self.reply_to_id or None,
                "reply_author": self.reply_author,
                "reply_snippet": self.reply_snippet,
                "media_file_id": self.attachment_id or None,
                "attachment": (self.attachment_name, self.attachment_size, self.attachment_kind),
            }
        )
        self._reset_composer()
        return [
            rx.call_script("window.ctInbox && window.ctInbox.clearComposer()"),
            InboxState.deliver,
        ]

    @rx.event(background=True)
    async def deliver(self):
        async with self:
            if not self._outbox:
                return
            job = self._outbox.pop(0)
        refused = ""
        try:
            from ctreflex.services import outbound

            try:
                if job.get("channel") == "sms":
                    from ctreflex.services import sms

                    await sms.send_sms(
                        account_id=job["account_id"],
                        user_id=job["user_id"],
                        conversation_id=job["conversation_id"],
                        body=job["body"],
                        media_file_id=job["media_file_id"],
                    )
                elif job["media_file_id"]:
                    await outbound.send_media(
                        account_id=job["account_id"],
                        user_id=job["user_id"],
                        conversation_id=job["conversation_id"],
                        media_file_id=job["media_file_id"],
                        caption=job["body"],
                        reply_to_id=job["reply_to_id"],
                    )
                else:
                    await outbound.send_text(
                        account_id=job["account_id"],
                        user_id=job["user_id"],
                        conversation_id=job["conversation_id"],
                        body=job["body"],
                        reply_to_id=job["reply_to_id"],
                    )
            except outbound.SendRefused as exc:
                refused = exc.message or str(exc)
        except ImportError:
            refused = "Sending isn't available yet on this server."
        except Exception:  # the service stores failures on the message; this is a bug
            log.exception("send failed")
            refused = "Something went wrong while sending; check the thread before sending again."
        async with self:
            same = self.open_id == job["conversation_id"]
            if refused and same:
                self.composer_error = refused
                if job["reply_to_id"]:
                    self.reply_to_id = job["reply_to_id"]
                    self.reply_author, self.reply_snippet = (
                        job["reply_author"],
                        job["reply_snippet"],
                    )
                if job["media_file_id"]:
                    self.attachment_id = job["media_file_id"]
                    name, size, kind = job["attachment"]
                    self.attachment_name, self.attachment_size, self.attachment_kind = (
                        name,
                        size,
                        kind,
                    )
            with db.session_scope() as session:
                if same:
                    self._load_open(session)
                self._load_list(session)
        if refused and job["body"]:
            return rx.call_script(
                f"window.ctInbox && window.ctInbox.restoreComposer({json.dumps(job['body'])})"
            )

    async def _message_action(self, act, failure: str) -> None:
        """Run a send-like action on a message (retry, resend as SMS) from a background event:
        a refusal shows by the composer, anything else is logged; the thread reloads."""
        async with self:
            user = self.current_user()
            if user is None:
                return
            conversation_id = self.open_id
        from ctreflex.services.outbound import SendRefused

        error = ""
        try:
            await act(user)
        except SendRefused as exc:
            error = exc.message or str(exc)
        except Exception:
            log.exception("%s", failure)
            error = f"Something went wrong while {failure}; check the thread before trying again."
        async with self:
            if self.open_id == conversation_id:
                self.composer_error = error
                with db.session_scope() as session:
                    self._load_open(session)
                    self._load_list(session)

    @rx.event(background=True)
    async def retry(self, message_id: int):
        from ctreflex.services import outbound

        await self._message_action(
            lambda user: outbound.retry(
                account_id=user.account_id, user_id=user.user_id, message_id=int(message_id)
            ),
            "retrying",
        )

    # ------------------------------------------------------------------ attachments

    @rx.event
    def upload_progressed(self, progress: dict):
        try:
            fraction = float((progress or {}).get("progress", 0))
        except (TypeError, ValueError):
            fraction = 0.0
        self.uploading = fraction < 1  # the handler takes over at 100 %
        self.upload_progress = int(fraction * 100)

    @rx.event
    def upload_cancelled(self):
        self.uploading, self.upload_progress = False, 0

    @rx.event
    def upload_rejected(self, rejected: list[dict]):
        self.uploading = False
        messages = []
        for item in rejected or []:
            item = item if isinstance(item, dict) else {}
            name = str(item.get("name") or "").lower()
            mime = str(item.get("type") or "").lower()
            codes = {e.get("code") for e in item.get("errors") or [] if isinstance(e, dict)}
            if mime.startswith("audio/") or name.endswith(AUDIO_EXTENSIONS):
                messages.append(AUDIO_UNSUPPORTED_REASON + ".")
            elif "file-too-large" in codes:
                messages.append(
                    "Files can be at most 100 MB (PDF documents); photos up to 5 MB and "
                    "videos up to 16 MB."
                )
            elif "too-many-files" in codes:
                messages.append("Attach one file at a time.")
            else:
                messages.append(
                    "Only JPEG or PNG photos, MP4 or 3GPP videos and PDF documents can be sent "
                    "on WhatsApp."
                )
        self.composer_error = messages[0] if messages else ""

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        self.uploading, self.upload_progress = False, 0
        if not files:
            return
        user = self.current_user()
        if user is None or not self.has_conversation:
            return
        upload = files[0]
        filename = (upload.filename or "attachment").rsplit("/", 1)[-1]
        declared = getattr(upload, "content_type", None) or ""
        try:
            from ctreflex.services import media
        except ImportError:
            self.composer_error = "Attachments aren't available yet on this server."
            return
        try:  # copied in chunks from the spooled upload, the size limit checked as it goes
            stored = await asyncio.to_thread(
                media.save_upload,
                account_id=user.account_id,
                filename=filename,
                file=upload.file,
                declared_mime=declared,
                declared_size=upload.size,
            )
            self.attachment_id = stored.id
            self.attachment_name = stored.filename or filename
            self.attachment_size = convs.human_size(stored.size)
            self.attachment_kind = stored.kind
        except MediaRuleError as exc:
            self.composer_error = exc.user_message
            return
        self.composer_error = ""
        return rx.set_focus("composer-text")

    @rx.event
    def remove_attachment(self):
        self.attachment_id = 0
        self.attachment_name = self.attachment_size = self.attachment_kind = ""

    # ------------------------------------------------------------------ channels

    @rx.event
    def choose_channel(self, channel: str):
        """The agent switches the channel of the next send (WhatsApp / SMS)."""
        if not self.has_conversation or channel == self.detail.channel:
            return
        from ctreflex.services import sms
        from ctreflex.services.outbound import SendRefused

        with db.session_scope() as session:
            try:
                sms.set_channel(
                    session=session,
                    account_id=self._account_id,
                    conversation_id=self.open_id,
                    channel=channel,
                )
                self.composer_error = ""
            except SendRefused as exc:
                self.composer_error = exc.message or str(exc)
            self._load_open(session)
        if channel == "sms" and self.reply_to_id:
            self.reply_to_id, self.reply_author, self.reply_snippet = 0, "", ""
        return rx.call_script("window.ctInbox && window.ctInbox.channelChanged()")

    @rx.event
    def typed(self, text: str):
        """The draft changed (debounced): the live SMS segment count."""
        if self.is_sms:
            self.sms_summary = segments.count((text or "")[: SMS_MAX_CHARS * 2]).summary

    @rx.event(background=True)
    async def resend_sms(self, message_id: int):
        """ "Resend as SMS" on a failed WhatsApp message: the same text, linked both ways."""
        from ctreflex.services import sms

        await self._message_action(
            lambda user: sms.resend_as_sms(
                account_id=user.account_id, user_id=user.user_id, message_id=int(message_id)
            ),
            "resending by SMS",
        )

    # ------------------------------------------------------------------ template picker

    def _load_picker_rows(self, session) -> None:
        from ctreflex.services import templates

        self.picker_rows = templates.list_templates(
            session=session,
            account_id=self._account_id,
            sendable_only=True,
            prefer_language=convs.language_hint(self.detail.region),
            search=self.picker_query,
        )
        if not self.picker_id:
            return
        sendable = templates.list_templates(
            session=session, account_id=self._account_id, sendable_only=True
        )
        if not any(r.id == self.picker_id for r in sendable):
            title = self.picker_title
            self._clear_template()
            self.picker_notice = (
                f"{title} can no longer be sent: its status changed in Meta (paused, disabled "
                "or no longer approved). Choose another template."
            )

    def _field_views(self, errors: dict[str, str]) -> list[PickerField]:
        from ctreflex.services import templates

        with db.session_scope() as session:
            fields = templates.template_form(
                session=session, account_id=self._account_id, template_id=self.picker_id
            )
        return [PickerField.of(f, errors.get(f.key, "")) for f in fields]

    def _refresh_preview(self, session) -> None:
        from ctreflex.services import templates

        values = dict(self._picker_values)
        link = values.get("header.media", "")
        media_url = ""
        if self.header_media_id:
            values.pop("header.media", None)
            media_url = f"/media/{self.header_media_id}"
        elif link.startswith("https://"):
            media_url = link
        self.preview = templates.preview(
            session=session,
            account_id=self._account_id,
            template_id=self.picker_id,
            values=values,
            media_url=media_url,
        )

    @rx.event
    def open_picker(self):
        if not self.has_conversation:
            return
        self._reset_picker()
        self.picker_open = True
        with db.session_scope() as session:
            self._load_picker_rows(session)

    @rx.event
    def set_picker_open(self, value: bool):
        if value:
            return InboxState.open_picker
        if not self.picker_sending:
            self._reset_picker()

    @rx.event
    def close_picker(self):
        if not self.picker_sending:
            self._reset_picker()

    @rx.event
    def set_picker_query(self, value: str):
        self.picker_query = (value or "")[:100]
        with db.session_scope() as session:
            self._load_picker_rows(session)

    @rx.event
    def choose_template(self, template_id: int):
        from ctreflex.services import templates

        row = next((r for r in self.picker_rows if r.id == int(template_id)), None)
        if row is None:
            return
        self._clear_template()
        self.picker_id = row.id
        self.picker_title = f"{row.name} ({row.language})"
        self.picker_fields = self._field_views({})
        with db.session_scope() as session:
            self._refresh_preview(session)
            self.picker_cost = templates.cost(
                session=session,
                account_id=self._account_id,
                conversation_id=self.open_id,
                template_id=row.id,
            ).summary
        first = next((f for f in self.picker_fields if not f.is_media), None)
        if first is not None:
            return rx.set_focus(first.dom_id)

    @rx.event
    def back_to_templates(self):
        self._clear_template()
        with db.session_scope() as session:
            self._load_picker_rows(session)

    @rx.event
    def set_template_value(self, key: str, value: str):
        if not self.picker_id:
            return
        key, value = str(key), str(value or "")
        self._picker_values[key] = value
        self.picker_fields = [
            dataclasses.replace(f, error="") if f.key == key else f for f in self.picker_fields
        ]
        if key == "header.media" or self.picker_error:
            self.picker_error = ""
        with db.session_scope() as session:
            self._refresh_preview(session)

    @rx.event
    async def handle_header_upload(self, files: list[rx.UploadFile]):
        self.header_uploading = False
        if not files or not self.picker_id:
            return
        user = self.current_user()
        if user is None:
            return
        upload = files[0]
        filename = (upload.filename or "header").rsplit("/", 1)[-1]
        declared = getattr(upload, "content_type", None) or ""
        from ctreflex.services import media

        try:
            stored = await asyncio.to_thread(
                media.save_upload,
                account_id=user.account_id,
                filename=filename,
                file=upload.file,
                declared_mime=declared,
                declared_size=upload.size,
            )
            with db.session_scope() as session:
                self.header_media_id = stored.id
                self.header_media_name = stored.filename or filename
                error = ""
                want = self.preview.header_kind
                if want and stored.kind != want:
                    error = f"This template's header is a {want}; this file is a {stored.kind}."
                    self.header_media_id, self.header_media_name = 0, ""
                self.picker_fields = [
                    dataclasses.replace(f, error=error) if f.key == "header.media" else f
                    for f in self.picker_fields
                ]
                self._refresh_preview(session)
        except MediaRuleError as exc:
            self.picker_fields = [
                dataclasses.replace(f, error=exc.user_message) if f.key == "header.media" else f
                for f in self.picker_fields
            ]

    @rx.event
    def header_upload_started(self, progress: dict):
        try:
            self.header_uploading = float((progress or {}).get("progress", 0)) < 1
        except (TypeError, ValueError):
            self.header_uploading = False

    @rx.event
    def header_upload_rejected(self):
        self.header_uploading = False
        message = (
            "Choose a JPEG or PNG photo up to 5 MB, an MP4 video up to 16 MB or a PDF up to "
            "100 MB for the header."
        )
        self.picker_fields = [
            dataclasses.replace(f, error=message) if f.key == "header.media" else f
            for f in self.picker_fields
        ]

    @rx.event
    def remove_header_media(self):
        self.header_media_id, self.header_media_name = 0, ""
        with db.session_scope() as session:
            self._refresh_preview(session)

    def _template_values(self, form: dict) -> dict[str, str]:
        keys = {f.key for f in self.picker_fields}
        values = {k: str(v) for k, v in self._picker_values.items() if k in keys}
        for k, v in (form or {}).items():
            if k in keys:
                values[k] = str(v or "")
        values = {k: v.strip() if k == "header.media" else v for k, v in values.items()}
        if self.header_media_id or not values.get("header.media"):
            values.pop("header.media", None)
        return values

    def _show_errors(self, errors: list) -> None:
        by_field: dict[str, str] = {}
        general: list[str] = []
        keys = {f.key for f in self.picker_fields}
        for e in errors:
            if e.field in keys:
                by_field.setdefault(e.field, e.message)
            else:
                general.append(e.message)
        self.picker_error = " ".join(dict.fromkeys(general))
        self.picker_fields = [
            dataclasses.replace(f, error=by_field.get(f.key, "")) for f in self.picker_fields
        ]

    @rx.event
    def submit_template(self, form: dict):
        """Pre-flight every field (nothing leaves when one is wrong), then send."""
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not (self.has_conversation and self.picker_id) or self.picker_sending:
            return
        if self.header_uploading:
            self.picker_error = "Wait for the header upload to finish, then send."
            return
        from ctreflex.services import templates

        values = self._template_values(form)
        self._picker_values.update(values)
        with db.session_scope() as session:
            errors = templates.validate_send(
                session=session,
                account_id=user.account_id,
                conversation_id=self.open_id,
                template_id=self.picker_id,
                values=values,
                header_media_file_id=self.header_media_id or None,
            )
            self._refresh_preview(session)
        self._show_errors(errors)
        if errors:
            first = next((f for f in self.picker_fields if f.error), None)
            return rx.set_focus(first.dom_id) if first is not None else None
        self.picker_sending = True
        self._outbox.append(
            {
                "account_id": user.account_id,
                "user_id": user.user_id,
                "conversation_id": self.open_id,
                "template_id": self.picker_id,
                "values": values,
                "header_media_file_id": self.header_media_id or None,
                "reply_to_id": self.reply_to_id or None,
            }
        )
        return InboxState.deliver_template

    @rx.event(background=True)
    async def deliver_template(self):
        async with self:
            jobs = [j for j in self._outbox if "template_id" in j]
            if not jobs:
                return
            job = jobs[0]
            self._outbox.remove(job)
        refused, field = "", ""
        try:
            from ctreflex.services import templates

            try:
                await templates.send_template(
                    account_id=job["account_id"],
                    user_id=job["user_id"],
                    conversation_id=job["conversation_id"],
                    template_id=job["template_id"],
                    values=job["values"],
                    header_media_file_id=job["header_media_file_id"],
                    reply_to_id=job["reply_to_id"],
                )
            except templates.SendRefused as exc:
                refused, field = exc.message or str(exc), getattr(exc, "field", "") or ""
        except Exception:
            log.exception("template send failed")
            refused = (
                "Something went wrong while sending the template; check the thread before "
                "sending it again."
            )
        async with self:
            same = self.open_id == job["conversation_id"]
            if same and refused and self.picker_id == job["template_id"]:
                self.picker_sending = False
                self._show_errors([_FieldError(field, refused)])
            elif same:
                self._reset_picker()
                self.reply_to_id, self.reply_author, self.reply_snippet = 0, "", ""
            with db.session_scope() as session:
                if same:
                    self._load_open(session)
                self._load_list(session)
        if same and not refused:
            return rx.call_script("window.ctInbox && window.ctInbox.clearComposer()")


def _as_row(detail: ConversationDetail) -> ConversationRow:
    """Enough of a list row to ask `next_list_change` about one conversation."""
    return ConversationRow(
        id=detail.id,
        name="",
        initials="",
        number="",
        country="",
        region="",
        preview="",
        preview_prefix="",
        unread=0,
        channel=detail.channel,
        last_at="",
        window_state=detail.window_state,
        window_text="",
        window_short="",
        window_expires_ms=detail.window_expires_ms,
    )


# ---------------------------------------------------------------------- page


def _rejected_files(rejected: rx.Var) -> rx.event.EventSpec:
    """Pass the browser's verdict with the file's name, type and size (a File object itself
    does not survive the trip to the server)."""

    def describe(record: rx.Var) -> rx.Var:
        record = record.to(dict)
        file = record["file"].to(dict)
        return rx.Var.create(
            {
                "name": file["name"],
                "type": file["type"],
                "size": file["size"],
                "errors": record["errors"],
            }
        )

    return InboxState.upload_rejected(rejected.to(list).map(describe))


def thread_pane() -> rx.Component:
    return rx.el.section(
        rx.cond(
            InboxState.has_conversation,
            rx.fragment(
                thread_header(InboxState.detail, InboxState.toggle_details),
                message_log(
                    InboxState.messages,
                    InboxState.open_id,
                    InboxState.start_reply,
                    InboxState.retry,
                    InboxState.resend_sms,
                ),
                composer(
                    conversation_key=InboxState.open_id,
                    locked=InboxState.composer_locked,
                    locked_message=InboxState.locked_message,
                    show_template=InboxState.show_template_button,
                    on_open_picker=InboxState.open_picker,
                    channel_options=InboxState.channel_options,
                    on_choose_channel=InboxState.choose_channel,
                    is_sms=InboxState.is_sms,
                    sms_summary=InboxState.sms_summary,
                    on_typed=InboxState.typed,
                    cost_line=InboxState.cost_line,
                    attach_allowed=InboxState.attach_allowed,
                    attach_hint=InboxState.attach_hint,
                    error=InboxState.composer_error,
                    on_submit=InboxState.send,
                    reply_active=InboxState.reply_to_id > 0,
                    reply_author=InboxState.reply_author,
                    reply_snippet=InboxState.reply_snippet,
                    on_cancel_reply=InboxState.cancel_reply,
                    attachment_active=InboxState.attachment_id > 0,
                    attachment_name=InboxState.attachment_name,
                    attachment_size=InboxState.attachment_size,
                    attachment_kind=InboxState.attachment_kind,
                    attachment_url=InboxState.attachment_url,
                    on_remove_attachment=InboxState.remove_attachment,
                    uploading=InboxState.uploading,
                    upload_progress=InboxState.upload_progress,
                    on_drop=InboxState.handle_upload(
                        rx.upload_files(
                            upload_id=UPLOAD_ID,
                            on_upload_progress=InboxState.upload_progressed,
                        )
                    ),
                    on_drop_rejected=_rejected_files,
                    on_cancel_upload=[rx.cancel_upload(UPLOAD_ID), InboxState.upload_cancelled],
                ),
                template_picker(
                    open=InboxState.picker_open,
                    on_open_change=InboxState.set_picker_open,
                    query=InboxState.picker_query,
                    on_query=InboxState.set_picker_query,
                    rows=InboxState.picker_rows,
                    on_choose=InboxState.choose_template,
                    chosen_id=InboxState.picker_id,
                    title=InboxState.picker_title,
                    on_back=InboxState.back_to_templates,
                    fields=InboxState.picker_fields,
                    on_value=InboxState.set_template_value,
                    preview=InboxState.preview,
                    cost=InboxState.picker_cost,
                    error=InboxState.picker_error,
                    notice=InboxState.picker_notice,
                    sending=InboxState.picker_sending,
                    on_submit=InboxState.submit_template,
                    header_name=InboxState.header_media_name,
                    header_uploading=InboxState.header_uploading,
                    on_header_drop=InboxState.handle_header_upload(
                        rx.upload_files(
                            upload_id=HEADER_UPLOAD_ID,
                            on_upload_progress=InboxState.header_upload_started,
                        )
                    ),
                    on_header_rejected=lambda _rejected: InboxState.header_upload_rejected(),
                    on_remove_header=InboxState.remove_header_media,
                ),
            ),
            rx.cond(
                InboxState.missing,
                not_found(),
                rx.cond(
                    InboxState.open_id > 0, rx.center(rx.spinner(), height="100%"), empty_thread()
                ),
            ),
        ),
        aria_label="Conversation",
        class_name="ct-pane-thread",
    )


def inbox_body() -> rx.Component:
    return rx.el.div(
        rx.script(src="/inbox.js"),
        rx.moment(
            interval=HEARTBEAT_MS,
            on_change=InboxState.heartbeat,
            display="none",
            aria_hidden="true",
        ),
        conversation_list(
            rows=InboxState.rows,
            selected_id=InboxState.open_id,
            query=InboxState.query,
            on_query=InboxState.set_query,
            on_clear_query=InboxState.clear_query,
            current_filter=InboxState.list_filter,
            counts=InboxState.counts,
            on_filter=lambda key: InboxState.set_list_filter(key),
            sort=InboxState.sort,
            on_sort=InboxState.set_sort,
            loading=~InboxState.loaded,
        ),
        thread_pane(),
        rx.cond(
            InboxState.has_conversation,
            details_panel(
                InboxState.detail,
                InboxState.details_toggled,
                InboxState.toggle_details,
                InboxState.ledger,
            ),
        ),
        class_name=rx.cond(InboxState.open_id > 0, "ct-inbox has-open", "ct-inbox"),
    )


ON_LOAD = [AuthState.require_login, InboxState.load]


@rx.page(route=routes.INBOX, title="Inbox · CT Text", on_load=ON_LOAD)
def inbox_page() -> rx.Component:
    return app_page("Inbox", inbox_body)


@rx.page(route=routes.CONVERSATION, title="Conversation · CT Text", on_load=ON_LOAD)
def conversation_page() -> rx.Component:
    return app_page("Inbox", inbox_body)
