"""The inbox's live listener: one background task per open inbox tab (`InboxState.listen`)
waits on its account's event stream (`ctreflex.realtime.broker`), with a timeout of at most
30 s or until the next 24-hour-window edge the tab shows, and then reloads only what changed.

Nothing is linked between tabs. The page starts the listener from a client heartbeat (on mount
and every 45 s), never from on_load (Reflex cancels an on_load chain's work on navigation).
The listener ends when the tab leaves the inbox, when its socket has been gone for a minute,
when no heartbeat came for 150 s, or when the sign-in ends; before it applies a list computed
outside the state's lock it checks the sign-in again. A process-wide registry keyed by the
tab's token makes sure one tab never runs two listeners.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import reflex as rx
from reflex_base.registry import RegistrationContext

from ctreflex import db, livetrace, routes
from ctreflex.pages.inbox.listing import ListResult, compute_list
from ctreflex.realtime import broker
from ctreflex.services import outbound

if TYPE_CHECKING:
    from ctreflex.pages.inbox.thread import InboxState

log = logging.getLogger("ctreflex.inbox")

LISTEN_MAX_WAIT = 30.0  # seconds between wake-ups at most
HEARTBEAT_MS = 45_000  # the open inbox page pings this often (browsers may slow it to 60 s)
HEARTBEAT_TIMEOUT = 150.0  # no ping for this long: the tab is gone or elsewhere, stop
DISCONNECT_GRACE = 60.0  # a tab whose socket is gone this long stops listening


@dataclasses.dataclass(eq=False)
class _Listener:
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


# client token -> the listener running for that tab in this process. A tab's events are
# always handled by the worker holding its socket, so a per-process registry is enough.
_LISTENERS: dict[str, _Listener] = {}


def listener_count() -> int:
    return len(_LISTENERS)


def is_listening(token: str) -> bool:
    return _LISTENERS.get(token) is not None


def wake(token: str) -> None:
    """Make the tab's listener (if any) recompute its timeout now."""
    entry = _LISTENERS.get(token)
    if entry is not None:
        entry.wake.set()


# The account's list, reloaded once per batch of events and shared by the tabs that show the
# same view: the broker hands the same event dicts to every subscriber of this process, so
# (view, open conversation to mark read, ids of the batch's events) names one reload. Entries
# keep their batch alive (so the ids can't be reused) and are dropped after LIST_SHARE_TTL s.
LIST_SHARE_TTL = 2.0
_SHARED_LISTS: dict[tuple, tuple[float, asyncio.Future, list[dict]]] = {}


async def _shared_list(view: tuple, mark_id: int, batch: list[dict]) -> tuple[ListResult, bool]:
    """The list for `view` after `batch`, computed off the event loop, once for all the tabs
    asking for the same thing. Also whether this caller computed it (it alone reports
    read_now, so one read receipt is sent)."""
    if not batch:  # a timeout or a poke: nothing to share
        return await asyncio.to_thread(compute_list, *view, mark_id), True
    now = time.monotonic()
    for key, (born, _, _) in list(_SHARED_LISTS.items()):
        if now - born > LIST_SHARE_TTL:
            del _SHARED_LISTS[key]
    key = (view, mark_id, tuple(id(e) for e in batch))
    hit = _SHARED_LISTS.get(key)
    if hit is not None:
        return await asyncio.shield(hit[1]), False
    task = asyncio.ensure_future(asyncio.to_thread(compute_list, *view, mark_id))
    _SHARED_LISTS[key] = (now, task, batch)
    return await asyncio.shield(task), True


async def _socket_connected(token: str) -> bool:
    """Whether the tab still has a socket (any worker). True when it can't be known."""
    try:
        namespace = RegistrationContext.get().app.event_namespace
        if namespace is None:
            return True
        return await namespace._token_manager.is_token_connected(token)
    except Exception:  # noqa: BLE001 - internals moved: keep listening, the path check stays
        return True


async def read_receipt(account_id: int, conversation_id: int) -> None:
    if not (account_id and conversation_id):
        return
    try:
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


def listen_timeout(state: InboxState) -> float:
    timeout = LISTEN_MAX_WAIT
    now = time.time()
    for edge in (state._list_edge, state._detail_edge):
        if edge > now:
            timeout = min(timeout, edge - now + 0.5)
    return max(timeout, 0.5)


def _on_inbox(state: InboxState) -> bool:
    path = (state.router.url.path or "").rstrip("/")
    return path == routes.INBOX or path.startswith(routes.INBOX + "/")


def plan(state: InboxState, batch: list[dict], everything: bool) -> tuple[tuple | None, int]:
    """What InboxState._refresh will need for the list: the view to reload (None: the list
    stays) and the open conversation to mark read first (0: none)."""
    ids = {e.get("conversation_id") for e in batch}
    kinds = {e.get("type") for e in batch}
    open_hit = everything or state.open_id in ids
    mark_id = 0
    if state.open_id and open_hit and ("message" in kinds or everything) and not state._tab_hidden:
        mark_id = state.open_id  # the agent is looking at it: a message arriving is read
    if (
        everything
        or kinds & {"message", "conversation"}
        or (state._list_edge and time.time() >= state._list_edge)
    ):
        return state._view(), mark_id
    return None, mark_id


def new_message_alerts(before: dict[int, int], rows) -> list[dict]:
    """The conversations whose unread count grew with this batch: what a tab in the background
    announces (assets/alerts.js: a sound and a desktop notification, each opt-in)."""
    return [
        {"id": r.id, "title": r.name, "body": r.preview[:140]}
        for r in rows
        if r.unread > before.get(r.id, 0)
    ]


def alert_script(items: list[dict]) -> rx.event.EventSpec:
    # json.dumps quotes the customer's text as a JavaScript string: data, never code
    return rx.call_script(f"window.ctAlerts && window.ctAlerts.newMessages({json.dumps(items)})")


async def listen(state: InboxState) -> AsyncIterator[rx.event.EventSpec]:
    """The listener's life, run by the background event `InboxState.listen`; yields the new
    message alerts for the tab."""
    token = state.router.session.client_token
    if not token or token in _LISTENERS:
        return
    entry = _Listener()
    _LISTENERS[token] = entry
    reason = "no account"
    try:
        async with state:
            account_id = state._account_id
        if not account_id:
            return
        log.info("inbox listener started (tab %s…, account %s)", token[:8], account_id)
        async with broker.subscribe(account_id) as sub:
            async with state:
                view = state._view()
            first = await asyncio.to_thread(compute_list, *view, 0)
            async with state:  # catch up on what arrived between page load and now
                if state._account_id != account_id or state._current_user() is None:
                    reason = "signed out"  # meanwhile (the list was computed unlocked)
                    return
                if state._view() == view:
                    state._apply_list(first)
                with db.session_scope() as session:
                    if state._view() != view:
                        state._load_list(session)
                    if state.open_id:
                        state._load_open(session)
                timeout = listen_timeout(state)
            gone_since: float | None = None
            missed = False
            while True:
                batch = await _next_batch(sub, entry, timeout)
                if batch and livetrace.enabled():
                    livetrace.mark("handler", tab=token[:8], m=livetrace.message_ids(batch))
                if not await _socket_connected(token):
                    gone_since = gone_since or time.monotonic()
                    if time.monotonic() - gone_since > DISCONNECT_GRACE:
                        reason = "tab gone"
                        break
                    missed = missed or bool(batch)
                    continue
                gone_since = None
                async with state:
                    if not _on_inbox(state) or state._account_id != account_id:
                        reason = "left the inbox"
                        break
                    if time.time() - state._beat > HEARTBEAT_TIMEOUT:
                        reason = "no heartbeat"
                        break
                    if state._current_user() is None:
                        reason = "signed out"
                        break
                    everything = missed or sub.overflowed
                    sub.overflowed, missed = False, False
                    planned = plan(state, batch, everything)
                # the list (and marking the open conversation read) off the event loop,
                # once for all this account's tabs showing the same view
                pre = None
                if planned[0] is not None:
                    pre, computed = await _shared_list(planned[0], planned[1], batch)
                    if not computed:
                        pre = dataclasses.replace(pre, read_now=False)
                async with state:
                    if state._account_id != account_id or state._current_user() is None:
                        reason = "signed out"  # while the list was computed unlocked
                        break
                    before = {r.id: r.unread for r in state.rows}
                    read_now = await state._refresh(batch, everything, pre, planned)
                    receipt_for = state.open_id if read_now else 0
                    timeout = listen_timeout(state)  # for the next wait
                    alerts = new_message_alerts(before, state.rows) if batch else []
                if batch and livetrace.enabled():  # the delta went to the socket on the exit
                    livetrace.mark("emitted", tab=token[:8], m=livetrace.message_ids(batch))
                if receipt_for:
                    await read_receipt(account_id, receipt_for)
                if alerts:
                    yield alert_script(alerts)
    except Exception:
        reason = "error"
        log.exception("inbox listener failed")
    finally:
        if _LISTENERS.get(token) is entry:
            del _LISTENERS[token]
        log.info("inbox listener stopped (tab %s…): %s", token[:8], reason)
