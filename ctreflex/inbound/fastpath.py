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

Buys: 17x less CPU per message than the per-event path (3.32 -> 0.19 ms, bench/process.py,
docs/PERFORMANCE.md). Guarded by tests/unit/test_ingest.py
(test_fast_path_gives_the_same_rows_as_the_per_event_path, the STOP test).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

from sqlalchemy import bindparam
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from ctreflex.inbound import lifecycle, rows
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

CHUNK = 64  # events looked at per run (bounds how long the journal may wait for the gate)
enabled = True  # tests and benches may switch it off to compare


class GaveWay(Exception):
    """The run failed as a whole (rolled back): the per-event path takes its `count` events."""

    def __init__(self, count: int, reason: str):
        super().__init__(reason)
        self.count = count


@dataclasses.dataclass
class _FastEvent:
    id: int
    attempts: int
    number: BusinessNumber | None = None
    account: Account | None = None
    plan: Plan | None = None
    value: MessagesValue | None = None
    skip: bool = False  # already done / rejected / unhandled: nothing to do


def _candidate(session: Session, row, cache: BatchCache) -> _FastEvent | None:
    """The event parsed, if its shape fits the fast path (no DB writes here)."""
    event_id, provider, state, body, attempts = row
    fe = _FastEvent(id=event_id, attempts=attempts)
    if state not in lifecycle.DUE_STATES:
        fe.skip = True
        return fe
    if provider != "whatsapp":
        return None
    try:
        payload = parse_webhook(body)
    except Exception:  # noqa: BLE001 - the per-event path records why
        return None
    if payload.problems:
        return None  # the per-event path keeps the good parts and records the bad ones
    changes = [(e, c) for e in payload.entry for c in e.changes]
    if len(changes) != 1 or changes[0][1].field != "messages":
        return None
    entry, change = changes[0]
    value = change.value
    if not isinstance(value, MessagesValue) or value.errors:
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
    fe.value = value
    return fe


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
    found = session.execute(
        select(WebhookEvent.id, WebhookEvent.provider, WebhookEvent.state, WebhookEvent.body,
               WebhookEvent.attempts)
        .where(WebhookEvent.id.in_(ids))
    ).all()
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


def _look_up(session: Session, events: list[_FastEvent]) -> _Looked:
    """Bulk look-ups for everything the run refers to."""
    inbound = [m for fe in events if fe.value for m in fe.value.messages]
    wamids = {m.id for m in inbound} | {m.reply_to_id for m in inbound if m.reply_to_id}
    known: dict[str, int] = {}
    for chunk in _chunks(sorted(wamids)):
        known.update(
            (wamid, mid)
            for mid, wamid in session.execute(
                select(Message.id, Message.provider_message_id).where(
                    Message.provider_message_id.in_(chunk)
                )
            ).all()
        )
    waiting: set[str] = set()
    for chunk in _chunks(sorted({m.id for m in inbound} - known.keys())):
        waiting.update(
            session.exec(
                select(Message.reply_to_provider_id).where(
                    Message.reply_to_provider_id.in_(chunk),
                    Message.kind == "reaction",
                    Message.reply_to_id.is_(None),
                )
            ).all()
        )
    targets: dict[str, Message] = {}
    for chunk in _chunks(sorted({st.id for fe in events if fe.value for st in fe.value.statuses})):
        targets.update(
            (m.provider_message_id, m)
            for m in session.exec(select(Message).where(Message.provider_message_id.in_(chunk)))
        )
    keys = {(fe.account.id, rows.e164_region(m.from_)[0]) for fe in events if fe.value
            for m in fe.value.messages}
    contacts: dict[tuple[int, str], Contact] = {}
    for account_id in {k[0] for k in keys}:
        for chunk in _chunks(sorted(k[1] for k in keys if k[0] == account_id)):
            contacts.update(
                ((c.account_id, c.e164), c)
                for c in session.exec(
                    select(Contact).where(Contact.account_id == account_id, Contact.e164.in_(chunk))
                )
            )
    conversations: dict[tuple[int, int], Conversation] = {}
    for chunk in _chunks(sorted({c.id for c in contacts.values()})):
        conversations.update(
            ((c.account_id, c.contact_id), c)
            for c in session.exec(select(Conversation).where(Conversation.contact_id.in_(chunk)))
        )
    return _Looked(known, waiting, targets, contacts, conversations)


def _fits(fe: _FastEvent, look: _Looked, seen: set[str]) -> bool:
    account = fe.account
    for msg in fe.value.messages:
        if msg.id in look.known or msg.id in seen:
            continue  # a duplicate: nothing to store, like the per-event path
        if msg.reply_to_id and msg.reply_to_id not in look.known:
            return False  # quoted message unknown (or stored in this very run)
        if msg.id in look.waiting:
            return False  # a reaction waits for it
        contact = look.contacts.get((account.id, rows.e164_region(msg.from_)[0]))
        if contact is None or (account.id, contact.id) not in look.conversations:
            return False  # a new customer: the per-event path creates them
    for st in fe.value.statuses:
        target = look.targets.get(st.id)
        if target is None or target.account_id != account.id:
            return False  # deferred or refused: the per-event path records it
    seen.update(m.id for m in fe.value.messages)
    return True


def _write_run(session: Session, run: list[_FastEvent], now: dt.datetime,
               look: _Looked) -> list[tuple[int, dict]]:
    live: list[tuple[int, dict]] = []
    messages: list[dict] = []
    meta: list[tuple[int, Conversation, Plan]] = []  # per message row: account, conv, plan
    stored: set[str] = set(look.known)
    newest: dict[int, list] = {}  # conversation id -> [conv, at, preview, number id, count]
    for fe in run:
        if fe.skip:
            continue
        value, account, number = fe.value, fe.account, fe.number
        for msg in value.messages:
            if msg.id in stored:
                continue
            stored.add(msg.id)
            profile = value.contact_for(msg.from_)
            contact = look.contacts[(account.id, rows.e164_region(msg.from_)[0])]
            rows.refresh_contact(contact, msg.from_, (profile.name if profile else None) or "")
            conv = look.conversations[(account.id, contact.id)]
            at = msg.timestamp_utc or now
            body = msg.text.body if msg.text else ""
            messages.append(rows.message_values(
                account_id=account.id, conversation_id=conv.id, number_id=number.id,
                channel="whatsapp", kind="text", body=body, provider_message_id=msg.id, at=at,
                reply_to_id=look.known.get(msg.reply_to_id) if msg.reply_to_id else None,
                reply_to_provider_id=msg.reply_to_id,
            ))
            meta.append((account.id, conv, fe.plan))
            seen = newest.get(conv.id)
            if seen is None:
                newest[conv.id] = [conv, at, body or "Text", number.id, 1]
            else:
                if at >= seen[1]:
                    seen[1:4] = at, body or "Text", number.id
                seen[4] += 1
        for st in value.statuses:
            target = look.targets[st.id]
            if apply_status(target, st, st.timestamp_utc or now):
                live.append(rows.live_status(target))
    for conv, at, preview, number_id, count in newest.values():  # once per conversation
        rows.touch_conversation(session, conv, at=at, preview=preview, number_id=number_id,
                                channel="whatsapp", opens_window=True, unread=count)
    session.flush()  # contacts, conversations, statuses (ORM rows loaded above)
    conn = session.connection()  # Core, not the ORM's bulk machinery: these rows stay out
    if messages:  # of the identity map, like any row written by another transaction
        table = Message.__table__
        ids = conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), messages
        ).scalars().all()
        usage = []
        for row, message_id, (account_id, conv, plan) in zip(messages, ids, meta, strict=True):
            usage.append(rows.usage_values(
                account_id=account_id, number_id=row["business_number_id"],
                message_id=message_id, channel="whatsapp", direction="inbound", plan=plan,
                at=row["created_at"], now=now,
            ))
            live.append(rows.live_message(account_id, conv.id, message_id))
        conn.execute(UsageRecord.__table__.insert(), usage)
    event_rows = [{"_id": fe.id, "_attempts": fe.attempts + 1, "_account": fe.account.id}
                  for fe in run if not fe.skip]
    if event_rows:
        table = WebhookEvent.__table__
        conn.execute(
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values(attempts=bindparam("_attempts"), account_id=bindparam("_account"),
                    kind="messages", **lifecycle.finish_values(EventState.DONE, "", now)),
            event_rows,
        )
        for row in event_rows:  # a copy this session holds (e.g. deferred earlier) is stale
            held = session.identity_map.get(identity_key(WebhookEvent, row["_id"]))
            if held is not None:
                session.expire(held)
    return live


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
