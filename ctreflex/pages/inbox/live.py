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
from typing import TYPE_CHECKING, Any, NamedTuple

import reflex as rx
from reflex_base.registry import RegistrationContext

from ctreflex import db, livetrace, routes
from ctreflex.pages.inbox.listing import ListResult, compute_list
from ctreflex.pages.inbox.opened import OpenView, compute_open
from ctreflex.realtime import broker
from ctreflex.services import auth, outbound
from ctreflex.services.crypto import token_digest

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


class Plan(NamedTuple):
    view: tuple | None  # the list's view to reload or patch; None: the list stays
    mark_id: int  # the open conversation to mark read first; 0: none
    ids: frozenset[int] | None  # the conversations whose rows to patch; None: the whole list


# account id -> {client token: digest of the tab's sign-in session}: the listening tabs of this
# process, so that one query per update checks every tab's sign-in (live_signins)
_SIGNINS: dict[int, dict[str, str]] = {}


def compute_signins(digests: frozenset[str]) -> tuple[frozenset[str], set[tuple[str, int]]]:
    """Runs in a worker thread: which of these sessions are still live, and whose."""
    with db.session_scope() as session:
        return digests, auth.live_sessions(session=session, digests=digests)


def listener_count() -> int:
    return len(_LISTENERS)


def is_listening(token: str) -> bool:
    return _LISTENERS.get(token) is not None


def wake(token: str) -> None:
    """Make the tab's listener (if any) recompute its timeout now."""
    entry = _LISTENERS.get(token)
    if entry is not None:
        entry.wake.set()


# What a batch of events changed, computed once per batch and shared by the tabs that need the
# same thing: the broker hands the same event dicts to every subscriber of this process, so
# (what, its arguments, ids of the batch's events) names one computation: the list patch of a
# view (with the open conversation to mark read first), or an open conversation's thread.
# Entries keep their batch alive (so the ids can't be reused) and go after SHARE_TTL s.
SHARE_TTL = 2.0
_SHARED: dict[tuple, tuple[float, asyncio.Future, list[dict]]] = {}


async def _shared(key: tuple, batch: list[dict], fn, *args) -> tuple[Any, bool]:
    """fn(*args) computed off the event loop, once for all the tabs asking for `key` after the
    same `batch`; also whether this caller computed it."""
    if not batch:  # a timeout or a poke: nothing to share
        return await asyncio.to_thread(fn, *args), True
    now = time.monotonic()
    for old, (born, _, _) in list(_SHARED.items()):
        if now - born > SHARE_TTL:
            del _SHARED[old]
    key = (*key, tuple(id(e) for e in batch))
    hit = _SHARED.get(key)
    if hit is not None:
        return await asyncio.shield(hit[1]), False
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    _SHARED[key] = (now, task, batch)
    return await asyncio.shield(task), True


async def _shared_list(
    view: tuple, mark_id: int, ids: frozenset[int] | None, batch: list[dict]
) -> tuple[ListResult, bool]:
    """The list for `view` after `batch` (or its patch: the rows of `ids`), with the open
    conversation marked read first (only the caller that computed it reports read_now, so one
    read receipt is sent)."""
    result, computed = await _shared(
        ("list", view, mark_id, ids), batch, compute_list, *view, mark_id, ids
    )
    return (result if computed else dataclasses.replace(result, read_now=False)), computed


async def _shared_open(key: tuple, batch: list[dict]) -> OpenView | None:
    """The open conversation (account id, conversation id, time zone) after `batch`."""
    view, _ = await _shared(("open", key), batch, compute_open, *key)
    return view


class Shared(NamedTuple):
    """What a tab needs after a batch, each part computed once for the tabs needing the same."""

    pre: ListResult | None  # the list or its patch (None: the list stays)
    pre_open: OpenView | None  # the open conversation read again (None: not asked)
    signins: tuple[frozenset[str], set[tuple[str, int]]] | None  # checked, live (None: ask)


async def _shared_for(
    account_id: int, planned: Plan, open_key: tuple | None, batch: list[dict]
) -> Shared:
    """The list (or its patch), the open conversation and the sign-ins of the account's tabs
    after `batch`, all at once, each computed once for the tabs of this process."""
    jobs = []
    if planned.view is not None:
        jobs.append(_shared_list(planned.view, planned.mark_id, planned.ids, batch))
    if open_key is not None:
        jobs.append(_shared_open(open_key, batch))
    digests = frozenset(_SIGNINS.get(account_id, {}).values())
    if batch and digests:
        jobs.append(_shared(("signins", account_id), batch, compute_signins, digests))
    done = list(await asyncio.gather(*jobs)) if jobs else []
    pre = done.pop(0)[0] if planned.view is not None else None
    pre_open = done.pop(0) if open_key is not None else None
    signins = done.pop(0)[0] if batch and digests else None
    return Shared(pre, pre_open, signins)


def signed_in(state: InboxState, digest: str, signins) -> bool:
    """Whether the tab's sign-in is still live: from the shared check when it covered this
    tab's session, else asked now."""
    if signins is not None and digest in signins[0]:
        return (digest, state._user_id) in signins[1]
    return state._signed_in_as(state._user_id)


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


#: the kinds of event that change list rows (a message's preview and unread count; a
#: conversation's assignee, status, labels, window)
LIST_KINDS = frozenset({"message", "conversation"})


def plan(state: InboxState, batch: list[dict], everything: bool) -> Plan:
    """What InboxState._refresh will need for the list: the view to reload (None: the list
    stays), the open conversation to mark read first (0: none), and the conversations whose
    rows to patch (None: the whole list)."""
    kinds = {e.get("type") for e in batch}
    ids = {e.get("conversation_id") for e in batch}
    open_hit = everything or state.open_id in ids
    mark_id = 0
    if state.open_id and open_hit and ("message" in kinds or everything) and not state._tab_hidden:
        mark_id = state.open_id  # the agent is looking at it: a message arriving is read
    edge_passed = bool(state._list_edge) and time.time() >= state._list_edge
    if everything or edge_passed:
        return Plan(state._view(), mark_id, None)
    if kinds & LIST_KINDS:
        changed = {e.get("conversation_id") for e in batch if e.get("type") in LIST_KINDS}
        # an event about no one conversation (a label renamed: id 0) reloads the list
        patch = frozenset(changed) if all(isinstance(i, int) and i > 0 for i in changed) else None
        return Plan(state._view(), mark_id, patch)
    return Plan(None, mark_id, None)


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
    account_id = 0
    try:
        async with state:
            account_id = state._account_id
            digest = token_digest(state.session_token) if state.session_token else ""
        if not account_id:
            return
        _SIGNINS.setdefault(account_id, {})[token] = digest
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
                async with state:  # no database here: the sign-in is checked before applying
                    if not _on_inbox(state) or state._account_id != account_id:
                        reason = "left the inbox"
                        break
                    if time.time() - state._beat > HEARTBEAT_TIMEOUT:
                        reason = "no heartbeat"
                        break
                    everything = missed or sub.overflowed
                    sub.overflowed, missed = False, False
                    planned = plan(state, batch, everything)
                    ids = {e.get("conversation_id") for e in batch}
                    gens = (state._list_gen, state._open_gen)  # what the tab shows now
                    open_key = None
                    if state.open_id and (everything or state.open_id in ids):
                        open_key = (account_id, state.open_id, state._tz, state._since)
                traced = livetrace.message_ids(batch) if livetrace.enabled() else []
                if traced:
                    livetrace.mark("planned", tab=token[:8], m=traced)
                # the list's patch (or the list) and the open thread, off the event loop,
                # once for all this worker's tabs that need the same
                shared = await _shared_for(account_id, planned, open_key, batch)
                if traced:
                    livetrace.mark("computed", tab=token[:8], m=traced)
                async with state:
                    if state._account_id != account_id or not signed_in(
                        state, digest, shared.signins
                    ):
                        reason = "signed out"  # checked before anything is applied
                        break
                    # the rows as they are (get_value): iterating the state's list would
                    # wrap each row in a change-tracking proxy, for nothing; only a tab the
                    # agent is not looking at announces (assets/alerts.js)
                    away = bool(batch) and state._tab_away
                    before = {r.id: r.unread for r in state.get_value("rows")} if away else {}
                    read_now = await state._refresh(
                        batch, everything, shared.pre, planned, shared.pre_open, gens
                    )
                    receipt_for = state.open_id if read_now else 0
                    timeout = listen_timeout(state)  # for the next wait
                    alerts = new_message_alerts(before, state.get_value("rows")) if away else []
                if traced:  # the delta went to the socket on the exit
                    livetrace.mark("emitted", tab=token[:8], m=traced)
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
            tabs = _SIGNINS.get(account_id, {}) if account_id else {}
            tabs.pop(token, None)
            if account_id and not tabs:
                _SIGNINS.pop(account_id, None)
        log.info("inbox listener stopped (tab %s…): %s", token[:8], reason)
