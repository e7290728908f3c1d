"""The set-based fast path: a run of plain WhatsApp events processed with a handful of bulk
statements instead of a savepoint and a dozen queries per event.

The common case: consecutive events that each hold only plain inbound text messages (to a
known number, from a contact with a conversation, replying to nothing or to a stored message,
not awaited by a reaction) and statuses of stored messages of the same account. Per run: one
SELECT of the events, one of the wamids already stored (and the quoted ones), one of the
statuses' messages, one of the contacts, one of the conversations, one of the reactions
waiting; one multi-row INSERT ... RETURNING of the messages, one of the usage records, one
UPDATE per touched conversation and contact, one executemany UPDATE of the events. The rows
are built by the same helpers as the per-event path (inbound/rows.py, whatsapp.apply_status,
lifecycle.finish_values). The run stops at the first event that is anything else; that event
goes through the per-event path (savepoint, deferral, refusal, media, reactions, opt-outs ...)
and the next run starts after it. Everything happens inside one savepoint: any error rolls the
whole run back and the per-event path takes those events one by one, so the guarantees are
the same.

Hot path (issue 17): each body decoded once by msgspec when it has the plain shape
(whatsapp/plain.py, else the pydantic parser), the statements built once with expanding bind
parameters, the rows written by the driver on SQLite (inbound/bulk.py), the events finished with
one UPDATE per account.

Buys: 17x less CPU per message than the per-event path (3.32 -> 0.19 ms, bench/process.py,
docs/PERFORMANCE.md), and issue 17's cut (docs/PERFORMANCE.md, "Issue 17: processing cost").
Guarded by tests/unit/test_ingest.py (test_fast_path_gives_the_same_rows_as_the_per_event_path,
the STOP test), tests/whatsapp/test_plain.py and tests/unit/test_inbound_bulk.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

from sqlalchemy import bindparam
from sqlmodel import Session, select

from ctreflex.inbound import bulk, lifecycle, rows
from ctreflex.inbound.lifecycle import Outcome, Refused
from ctreflex.inbound.whatsapp import BatchCache, apply_status, number_for
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    Plan,
    UsageRecord,
    WebhookEvent,
)
from ctreflex.models.ops import EventState
from ctreflex.services import optouts
from ctreflex.whatsapp import MessagesValue, parse_webhook
from ctreflex.whatsapp.plain import PlainValue, decode_plain

# Events looked at per run: bounds how long the journal may wait for the gate (a run's writes)
# and spreads the run's statements over its messages (issue 17: 64 -> 256, docs/PERFORMANCE.md)
CHUNK = 256
enabled = True  # tests and benches may switch it off to compare


class GaveWay(Exception):
    """The run failed as a whole (rolled back): the per-event path takes its `count` events."""

    def __init__(self, count: int, reason: str):
        super().__init__(reason)
        self.count = count


@dataclasses.dataclass
class _FastEvent:
    id: int
    number: BusinessNumber | None = None
    account: Account | None = None
    plan: Plan | None = None
    account_id: int = 0
    number_id: int = 0
    value: PlainValue | MessagesValue | None = None  # the same attributes on both
    skip: bool = False  # already done / rejected / unhandled: nothing to do


def _candidate(session: Session, row, cache: BatchCache) -> _FastEvent | None:
    """The event parsed, if its shape fits the fast path (no DB writes here)."""
    event_id, provider, state, body = row
    fe = _FastEvent(id=event_id)
    if state not in lifecycle.DUE_STATES:
        fe.skip = True
        return fe
    if provider != "whatsapp":
        return None
    changes = _changes(body)
    if changes is None or len(changes) != 1 or changes[0][1].field != "messages":
        return None
    entry, change = changes[0]
    value = change.value
    if not isinstance(value, (PlainValue, MessagesValue)) or value.errors:
        return None
    if not value.messages and not value.statuses:
        return None
    for msg in value.messages:
        if msg.type != "text" or not msg.id or not msg.from_:
            return None
        if optouts.whatsapp_keyword(msg.text.body if msg.text else ""):
            return None  # STOP / START: the per-event path records the opt-out
    for st in value.statuses:
        if not st.id:
            return None
    try:
        fe.number, fe.account, fe.plan = number_for(session, value, cache.routing, entry.id)
    except Refused:
        return None
    fe.account_id, fe.number_id = fe.account.id, fe.number.id
    fe.value = value
    return fe


def _changes(body: str) -> list[tuple] | None:
    """(entry, change) pairs of the body: decoded in one pass when it has the plain shape
    (whatsapp/plain.py), else by the full parser; None when the body has problems (the
    per-event path keeps the good parts and records the bad ones)."""
    plain = decode_plain(body)
    if plain is not None:
        return [(e, c) for e in plain.entry for c in e.changes]
    try:
        payload = parse_webhook(body)
    except Exception:  # noqa: BLE001 - the per-event path records why
        return None
    if payload.problems:
        return None
    return [(e, c) for e in payload.entry for c in e.changes]


def process_run(
    session: Session,
    ids: list[int],
    now: dt.datetime,
    cache: BatchCache,
    total: Outcome,
    before_write: Callable[[], None] = lambda: None,
) -> int:
    """Process the longest run of fast-path events at the start of `ids`; returns how many
    events it went through (0: the first one needs the per-event path)."""
    lo, hi = min(ids), max(ids)
    if hi - lo < 2 * len(ids):  # the usual burst: consecutive ids, a range is cheaper than IN
        found = session.execute(_EVENT_RANGE, {"lo": lo, "hi": hi}).all()
    else:
        found = session.execute(_EVENTS, {"keys": ids}).all()
    by_id = {r[0]: r for r in found}
    events: list[_FastEvent] = []
    for event_id in ids:
        row = by_id.get(event_id)
        if row is None:
            break
        fe = _candidate(session, row, cache)
        if fe is None:
            break
        events.append(fe)
    if not events:
        return 0
    look = _look_up(session, events)
    # The run: events in order, up to the first one the look-ups say is not plain.
    run: list[_FastEvent] = []
    seen: set[str] = set()
    for fe in events:
        if fe.value is not None and not _fits(fe, look, seen):
            break
        run.append(fe)
    if not run:
        return 0
    before_write()
    try:
        with session.begin_nested():
            live = _write_run(session, run, now, look)
    except Exception as exc:  # noqa: BLE001 - the per-event path records what is wrong
        raise GaveWay(len(run), f"{exc.__class__.__name__}: {exc}") from exc
    total.live.extend(live)
    return len(run)


@dataclasses.dataclass
class _Looked:
    known: dict[str, int]  # wamid -> message id, already stored
    waiting: set[str]  # new wamids a reaction waits for
    targets: dict[str, Message]  # status wamid -> its message
    contacts: dict[tuple[int, str], Contact]  # (account, e164) -> contact
    conversations: dict[tuple[int, int], Conversation]  # (account, contact) -> conversation


# Built once, run with a list bound to "keys" (an expanding IN): building the statement and
# coercing each listed value for every run cost as much as running it.
_KEYS = bindparam("keys", expanding=True)
_EVENTS = select(WebhookEvent.id, WebhookEvent.provider, WebhookEvent.state,
                 WebhookEvent.body).where(WebhookEvent.id.in_(_KEYS))
_EVENT_RANGE = select(WebhookEvent.id, WebhookEvent.provider, WebhookEvent.state,
                      WebhookEvent.body).where(WebhookEvent.id.between(bindparam("lo"),
                                                                       bindparam("hi")))
_KNOWN = select(Message.id, Message.provider_message_id).where(
    Message.provider_message_id.in_(_KEYS))
_WAITING = select(Message.reply_to_provider_id).where(
    Message.reply_to_provider_id.in_(_KEYS), Message.kind == "reaction",
    Message.reply_to_id.is_(None))
_TARGETS = select(Message).where(Message.provider_message_id.in_(_KEYS))
_CONTACTS = select(Contact).where(Contact.account_id == bindparam("account"),
                                  Contact.e164.in_(_KEYS))
_CONVERSATIONS = select(Conversation).where(Conversation.contact_id.in_(_KEYS))


def _look_up(session: Session, events: list[_FastEvent]) -> _Looked:
    """Bulk look-ups for everything the run refers to."""
    inbound = [m for fe in events if fe.value for m in fe.value.messages]
    wamids = {m.id for m in inbound} | {m.reply_to_id for m in inbound if m.reply_to_id}
    known: dict[str, int] = {}
    for chunk in _chunks(sorted(wamids)):
        known.update((wamid, mid) for mid, wamid in session.execute(_KNOWN, {"keys": chunk}))
    waiting: set[str] = set()
    for chunk in _chunks(sorted({m.id for m in inbound} - known.keys())):
        waiting.update(session.execute(_WAITING, {"keys": chunk}).scalars())
    targets: dict[str, Message] = {}
    for chunk in _chunks(sorted({st.id for fe in events if fe.value for st in fe.value.statuses})):
        targets.update((m.provider_message_id, m)
                       for m in session.execute(_TARGETS, {"keys": chunk}).scalars())
    keys = {(fe.account_id, rows.e164_region(m.from_)[0]) for fe in events if fe.value
            for m in fe.value.messages}
    contacts: dict[tuple[int, str], Contact] = {}
    for account_id in {k[0] for k in keys}:
        for chunk in _chunks(sorted(k[1] for k in keys if k[0] == account_id)):
            contacts.update(
                ((c.account_id, c.e164), c)
                for c in session.execute(_CONTACTS, {"account": account_id, "keys": chunk})
                .scalars()
            )
    conversations: dict[tuple[int, int], Conversation] = {}
    for chunk in _chunks(sorted({c.id for c in contacts.values()})):
        conversations.update(((c.account_id, c.contact_id), c)
                             for c in session.execute(_CONVERSATIONS, {"keys": chunk}).scalars())
    return _Looked(known, waiting, targets, contacts, conversations)


def _fits(fe: _FastEvent, look: _Looked, seen: set[str]) -> bool:
    account_id = fe.account_id
    for msg in fe.value.messages:
        if msg.id in look.known or msg.id in seen:
            continue  # a duplicate: nothing to store, like the per-event path
        reply = msg.reply_to_id
        if reply and reply not in look.known:
            return False  # quoted message unknown (or stored in this very run)
        if msg.id in look.waiting:
            return False  # a reaction waits for it
        contact = look.contacts.get((account_id, rows.e164_region(msg.from_)[0]))
        if contact is None or (account_id, contact.id) not in look.conversations:
            return False  # a new customer: the per-event path creates them
    for st in fe.value.statuses:
        target = look.targets.get(st.id)
        if target is None or target.account_id != account_id:
            return False  # deferred or refused: the per-event path records it
    seen.update(m.id for m in fe.value.messages)
    return True


_EVENT = WebhookEvent.__table__
_FINISH = (_EVENT.update().where(_EVENT.c.id.in_(_KEYS))
           .values(attempts=_EVENT.c.attempts + 1, account_id=bindparam("account"),
                   kind="messages",
                   **{name: bindparam(f"_{name}", type_=_EVENT.c[name].type)
                      for name in lifecycle.finish_values(EventState.DONE, "", None)}))


def _write_run(session: Session, run: list[_FastEvent], now: dt.datetime,
               look: _Looked) -> list[tuple[int, dict]]:
    live: list[tuple[int, dict]] = []
    messages: list[dict] = []
    meta: list[tuple[int, int, Plan]] = []  # per message row: account, conversation, plan
    stored: set[str] = set(look.known)
    newest: dict[int, list] = {}  # conversation id -> [conv, at, preview, number id, count]
    who: dict[tuple[int, str], tuple[Contact, Conversation, int]] = {}  # (account, sender)
    told: dict[int, tuple[str, str]] = {}  # contact id -> the last (wa id, name) applied
    known = look.known
    for fe in run:
        if fe.skip:
            continue
        value, account_id, number_id, plan = fe.value, fe.account_id, fe.number_id, fe.plan
        for msg in value.messages:
            wamid, sender = msg.id, msg.from_
            if wamid in stored:
                continue
            stored.add(wamid)
            found = who.get((account_id, sender))
            if found is None:
                contact = look.contacts[(account_id, rows.e164_region(sender)[0])]
                conv = look.conversations[(account_id, contact.id)]
                found = who[(account_id, sender)] = (contact, conv, conv.id)
            contact, conv, conv_id = found
            profile = value.contact_for(sender)
            said = (sender, (profile.name if profile else None) or "")
            if told.get(id(contact)) != said:  # the same again changes nothing
                rows.refresh_contact(contact, *said)
                told[id(contact)] = said
            at = msg.timestamp_utc or now
            body = msg.text.body if msg.text else ""
            reply = msg.reply_to_id
            messages.append(rows.message_values(
                account_id=account_id, conversation_id=conv_id, number_id=number_id,
                channel="whatsapp", kind="text", body=body, provider_message_id=wamid, at=at,
                reply_to_id=known.get(reply) if reply else None, reply_to_provider_id=reply,
            ))
            meta.append((account_id, conv_id, plan))
            seen = newest.get(conv_id)
            if seen is None:
                newest[conv_id] = [conv, at, body or "Text", number_id, 1]
            else:
                if at >= seen[1]:
                    seen[1:4] = at, body or "Text", number_id
                seen[4] += 1
        for st in value.statuses:
            target = look.targets[st.id]
            if apply_status(target, st, st.timestamp_utc or now):
                live.append(rows.live_status(target))
    for conv, at, preview, number_id, count in newest.values():  # once per conversation
        rows.touch_conversation(session, conv, at=at, preview=preview, number_id=number_id,
                                channel="whatsapp", opens_window=True, unread=count)
    session.flush()  # contacts, conversations, statuses (ORM rows loaded above)
    done = {f"_{k}": v for k, v in lifecycle.finish_values(EventState.DONE, "", now).items()}
    conn = session.connection()  # Core and the driver, not the ORM: these rows stay out of
    if messages:  # the identity map, like any row written by another transaction
        ids = bulk.insert_messages(conn, Message.__table__, messages)
        usage = []
        for row, message_id, (account_id, conv_id, plan) in zip(messages, ids, meta,
                                                                strict=True):
            usage.append(rows.usage_values(
                account_id=account_id, number_id=row["business_number_id"],
                message_id=message_id, channel="whatsapp", direction="inbound", plan=plan,
                at=row["created_at"], now=now,
            ))
            live.append(rows.live_message(account_id, conv_id, message_id))
        bulk.insert_rows(conn, UsageRecord.__table__, usage)
    by_account: dict[int, list[int]] = {}
    for fe in run:
        if not fe.skip:
            by_account.setdefault(fe.account_id, []).append(fe.id)
    for account_id, event_ids in by_account.items():  # one UPDATE per account, not per event
        conn.execute(_FINISH, {"keys": event_ids, "account": account_id, **done})
    done_ids = {fe.id for fe in run}
    for held in list(session.identity_map.values()):  # a copy this session holds (e.g.
        if isinstance(held, WebhookEvent) and held.id in done_ids:  # deferred earlier) is stale
            session.expire(held)
    return live


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
