"""WhatsApp events, one at a time: a Cloud API webhook body becomes messages, reactions,
statuses and template updates (the per-event path; the common case goes by inbound/fastpath.py).

Every step is idempotent: a message is stored once per wamid, statuses only move forward
(sent < delivered < read; failed is terminal), a reaction or a status that arrives before its
message waits for it. A bad part of a body (a malformed message, a change for a number its
WABA does not own) is recorded while the rest of the body is kept. Guarded by
tests/unit/test_ingest.py, tests/contract/test_webhooks_contract.py and
tests/security/test_hostile_webhooks.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ctreflex.inbound import lifecycle, rows
from ctreflex.inbound.lifecycle import Deferred, Outcome, Refused
from ctreflex.inbound.whatsapp_kinds import FETCHED_KINDS, MESSAGE_KINDS, first_name
from ctreflex.models import (
    STATUS_RANK,
    Account,
    BusinessNumber,
    Conversation,
    MediaFile,
    Message,
    Plan,
    Template,
    WebhookEvent,
)
from ctreflex.models.ops import EventState
from ctreflex.services import optouts
from ctreflex.whatsapp import InboundMessage, MessagesValue, Status, parse_webhook
from ctreflex.whatsapp.limits import inbound_support
from ctreflex.whatsapp.webhooks import TemplateStatusUpdate, WebhookParseError

log = logging.getLogger("ctreflex.ingest")


class BatchCache:
    """What one process_events call (one transaction) looks up once instead of per message."""

    def __init__(self) -> None:
        self.routing: dict[str, tuple[BusinessNumber, Account, Plan]] = {}
        # Target wamids of reactions stored without their message: loaded once per batch (the
        # column has no index, so the per-message query scanned the table), grown as reactions
        # are stored. Only ever a superset of the truth: a miss means "no query needed".
        self._waiting: set[str] | None = None

    def rolled_back(self) -> None:
        self.routing.clear()  # a savepoint rollback expired or expunged what it touched

    def may_have_waiting_reactions(self, session: Session, wamid: str | None) -> bool:
        if not wamid:
            return False
        if self._waiting is None:
            self._waiting = set(
                session.exec(
                    select(Message.reply_to_provider_id).where(
                        Message.kind == "reaction", Message.reply_to_id.is_(None)
                    )
                ).all()
            )
        return wamid in self._waiting

    def reaction_waits_for(self, wamid: str | None) -> None:
        if wamid and self._waiting is not None:
            self._waiting.add(wamid)


def process(session: Session, event: WebhookEvent, now: dt.datetime, cache: BatchCache) -> Outcome:
    """One WhatsApp event (its try already counted): every change through CHANGE_HANDLERS in
    one savepoint; the event's state records the result."""
    outcome = Outcome()
    try:
        payload = parse_webhook(event.body)
    except WebhookParseError as exc:
        lifecycle.finish(event, EventState.REJECTED, f"Malformed webhook: {exc}", now)
        return outcome
    except Exception as exc:  # noqa: BLE001 - whatever a body does to the parser, it is refused
        lifecycle.finish(event, EventState.REJECTED,
                         f"Malformed webhook: {exc.__class__.__name__}: {exc}", now)
        return outcome
    kinds = sorted({c.field for e in payload.entry for c in e.changes}) or ["empty"]
    handled = accepted = 0
    refused: list[str] = []
    deferred: list[str] = []
    try:
        with session.begin_nested():
            event.kind = ",".join(kinds)[:64]  # like the handler's changes: kept only on success
            for entry in payload.entry:
                for change in entry.changes:
                    handler = CHANGE_HANDLERS.get(change.field)
                    if handler is None:
                        continue
                    handled += 1
                    try:  # a Refused is raised before the handler writes anything
                        handler(session, event, entry.id, change.value, outcome, now,
                                cache=cache)
                    except Refused as exc:
                        refused.append(str(exc))
                    except Deferred as exc:  # this change waits for something; others go on
                        deferred.append(str(exc))
                    else:
                        accepted += 1
    except Exception as exc:  # noqa: BLE001 - tried again with backoff, then parked as dead
        cache.rolled_back()
        log.exception("webhook event %s failed", event.id)
        lifecycle.defer(event, f"{exc.__class__.__name__}: {exc}", now)
        return Outcome()
    problems = refused + outcome.problems + [f"Left out {p}" for p in payload.problems]
    deferred += outcome.deferred
    outcome.problems, outcome.deferred = [], []
    if deferred:
        # What could be stored is kept and published (a retry skips it: one row per wamid,
        # statuses only move forward); the event is tried again for the parts that wait.
        lifecycle.defer(event, "; ".join(deferred + problems), now)
    elif handled and not accepted:
        lifecycle.finish(event, EventState.REJECTED, "; ".join(problems), now)
    elif problems:
        lifecycle.finish(event, EventState.PARTIAL, "; ".join(problems), now)
    elif handled:
        lifecycle.finish(event, EventState.DONE, "", now)
    else:
        lifecycle.finish(event, EventState.UNHANDLED,
                         f"No handler for {event.kind}; kept as received.", now)
    return outcome


# ------------------------------------------------------------------------- routing and plan


def number_for(
    session: Session,
    value: MessagesValue,
    routing: dict[str, tuple[BusinessNumber, Account, Plan]] | None = None,
    waba_id: str | None = None,
) -> tuple[BusinessNumber, Account, Plan]:
    """number -> account -> plan, checked; `routing` caches it for one batch (one transaction,
    cleared whenever a savepoint rolls back). The entry's WABA (`waba_id`, the entry id) must
    be the one the number belongs to: a change naming another WABA's number is refused, never
    routed into that number's account."""
    pnid = value.metadata.phone_number_id
    if routing is not None and pnid in routing:
        number, account, plan = routing[pnid]
        _check_waba(number, waba_id)
        return number, account, plan
    row = session.exec(
        select(BusinessNumber, Account, Plan)
        .join(Account, Account.id == BusinessNumber.account_id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(BusinessNumber.phone_number_id == pnid)
    ).first()
    if row is None:
        raise Refused(f"No business number here has phone_number_id {pnid}.")
    number, account, plan = row
    _check_waba(number, waba_id)
    if not plan.whatsapp_included:
        raise Refused(f"{account.name}'s plan ({plan.name}) does not include WhatsApp.")
    if not account.early_access:
        raise Refused(f"{account.name} is not in the WhatsApp early access programme.")
    if routing is not None:
        routing[pnid] = (number, account, plan)
    return number, account, plan


def _check_waba(number: BusinessNumber, waba_id: str | None) -> None:
    if waba_id is not None and number.waba_id != waba_id:
        raise Refused(
            f"phone_number_id {number.phone_number_id} does not belong to WhatsApp Business "
            f"Account {waba_id}; refused."
        )


# ---------------------------------------------------------------------------- inbound messages


def _store_inbound(
    session: Session,
    event: WebhookEvent,
    number: BusinessNumber,
    account: Account,
    plan: Plan,
    value: MessagesValue,
    msg: InboundMessage,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if rows.by_provider_id(session, msg.id) is not None:
        return  # a duplicate delivery
    profile = value.contact_for(msg.from_)
    contact = rows.contact_for(session, account.id, msg.from_, wa_id=msg.from_,
                               profile_name=(profile.name if profile else None) or "")
    conv = rows.conversation_for(session, contact=contact, number=number, channel="whatsapp")
    at = msg.timestamp_utc or now

    if msg.type == "reaction":
        _store_reaction(session, number, account, plan, conv, msg, outcome, at, cache)
        return

    handler = MESSAGE_KINDS.get(msg.type)
    if handler is None:  # a kind nobody knows yet: kept whole, shown as a notice
        kind, body, payload = "unknown", f"sent a message of type {msg.type!r}", msg.raw
    else:
        kind, body, payload = handler(msg)
    supported, notice = inbound_support(msg.type, getattr(msg.media, "mime_type", None))
    if not supported and notice and kind not in ("unsupported",):
        body = f"{first_name(contact)} {notice}" + (f" ({body})" if body else "")
    elif kind in ("unsupported", "unknown"):
        body = f"{first_name(contact)} {body}"

    media_id = None
    media = msg.media
    if media is not None and msg.type in FETCHED_KINDS and supported:
        placeholder = MediaFile(
            account_id=account.id,
            kind=msg.type,
            mime_type=media.mime_type or "application/octet-stream",
            size=0,
            sha256=media.sha256 or "",
            filename=(getattr(media, "filename", None) or "")[:255],
            provider_media_id=media.id,
            state="pending",
        )
        session.add(placeholder)
        session.flush()
        media_id = placeholder.id
        outcome.media_to_fetch.append(placeholder.id)

    reply_to = rows.by_provider_id(session, msg.reply_to_id)
    message = Message(
        **rows.message_values(
            account_id=account.id, conversation_id=conv.id, number_id=number.id,
            channel="whatsapp", kind=kind, body=body, provider_message_id=msg.id, at=at,
            reply_to_id=reply_to.id if reply_to else None, reply_to_provider_id=msg.reply_to_id,
        ),
        media_id=media_id,
        payload=payload if payload is None or isinstance(payload, dict) else {"value": payload},
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return  # the same wamid stored by a concurrent delivery
    rows.record_usage(session, message, plan, at)
    if cache is None or cache.may_have_waiting_reactions(session, message.provider_message_id):
        _apply_waiting_reactions(session, message)
    if kind in ("button", "interactive", "text"):  # STOP / "Stop promotions" -> opt-out ledger
        optouts.handle_whatsapp_inbound(session, message)
    rows.touch_conversation(session, conv, at=at, preview=body or kind.title(), number_id=number.id,
                            channel="whatsapp", opens_window=True)
    session.add(conv)
    outcome.live.append(rows.live_message(account.id, conv.id, message.id))


def _store_reaction(
    session: Session,
    number: BusinessNumber,
    account: Account,
    plan: Plan,
    conv: Conversation,
    msg: InboundMessage,
    outcome: Outcome,
    at: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    reaction = msg.reaction
    emoji = (reaction.emoji or "") if reaction else ""
    target_wamid = reaction.message_id if reaction else None
    row = Message(
        account_id=account.id,
        conversation_id=conv.id,
        business_number_id=number.id,
        direction="inbound",
        channel="whatsapp",
        kind="reaction",
        body=emoji,
        provider_message_id=msg.id,
        status="received",
        reply_to_provider_id=target_wamid,
        created_at=at,
    )
    target = rows.by_provider_id(session, target_wamid)
    if target is None and cache is not None:
        cache.reaction_waits_for(target_wamid)
    if target is not None:
        row.reply_to_id = target.id
        target.reaction = emoji
        session.add(target)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return
    rows.record_usage(session, row, plan, at)
    outcome.live.append(rows.live_message(account.id, conv.id, target.id if target else row.id))


def _apply_waiting_reactions(session: Session, message: Message) -> None:
    """Reactions that arrived before the message they react to."""
    waiting = session.exec(
        select(Message)
        .where(
            Message.kind == "reaction",
            Message.reply_to_provider_id == message.provider_message_id,
            Message.reply_to_id.is_(None),
        )
        .order_by(Message.created_at)
    ).all()
    for reaction in waiting:
        reaction.reply_to_id = message.id
        message.reaction = reaction.body
        session.add(reaction)


# ------------------------------------------------------------------------------- statuses


def apply_status(message: Message, status: Status, at: dt.datetime) -> bool:
    """Move a message's status forward only; failed is terminal. True when it changed."""
    if message.status == "failed":
        return False
    if status.is_failed:
        err = status.error
        message.status = "failed"
        message.failed_at = at
        if err is not None:
            message.error_code = err.code
            message.error_title = (err.title or err.message or "")[:255]
            message.error_detail = err.details or err.message or ""
        return True
    new_rank = STATUS_RANK.get(status.status)
    if new_rank is None:
        return False  # e.g. "played": not a state this inbox tracks
    changed = False
    stamp = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}[status.status]
    if getattr(message, stamp) is None:
        setattr(message, stamp, at)
        changed = True
    if new_rank > STATUS_RANK.get(message.status, 0):
        message.status = status.status
        changed = True
    if status.pricing is not None:
        message.pricing_category = status.pricing.category or message.pricing_category
        if status.pricing.billable is not None:
            message.billable = status.pricing.billable
    return changed


def _store_status(
    session: Session, account: Account, status: Status, outcome: Outcome, now: dt.datetime
) -> None:
    message = rows.by_provider_id(session, status.id)
    if message is None:  # a send that got no answer: found by the callback data it carried
        # imported here: the sender's module (Graph client, media) is only needed for this
        # rare case, and the processor child starts faster without it
        from ctreflex.services.outbound import reconcile_status

        message = reconcile_status(session, account.id, status)
    if message is None:
        raise Deferred(f"status {status.status} for {status.id}, which is not stored yet")
    if message.account_id != account.id:
        raise Refused(f"status for {status.id} belongs to another account")
    if apply_status(message, status, status.timestamp_utc or now):
        session.add(message)
        outcome.live.append(rows.live_status(message))


# --------------------------------------------------------------------------- change handlers


def handle_messages(
    session: Session,
    event: WebhookEvent,
    waba_id: str,
    value: Any,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if not isinstance(value, MessagesValue):
        raise Refused("a 'messages' change without the expected value")
    number, account, plan = number_for(session, value, cache.routing if cache else None,
                                       waba_id)
    event.account_id = account.id
    for msg in value.messages:
        _store_inbound(session, event, number, account, plan, value, msg, outcome, now, cache)
    for status in value.statuses:
        try:  # raised before anything is written: the other statuses and messages go on
            _store_status(session, account, status, outcome, now)
        except Refused as exc:
            outcome.problems.append(str(exc))
        except Deferred as exc:  # the messages stored so far are kept; the event is retried
            outcome.deferred.append(str(exc))
    if value.errors:
        first = value.errors[0]
        event.error = f"Meta reported error {first.code}: {first.title or first.message}"[:2000]


def handle_template_status(
    session: Session,
    event: WebhookEvent,
    waba_id: str,
    value: Any,
    outcome: Outcome,
    now: dt.datetime,
    cache: BatchCache | None = None,
) -> None:
    if not isinstance(value, TemplateStatusUpdate):
        raise Refused("a template status change without the expected value")
    template = session.exec(
        select(Template).where(Template.provider_template_id == str(value.message_template_id))
    ).first()
    if template is None:
        raise Deferred(f"template {value.message_template_id} is not synced yet")
    if waba_id is not None and template.waba_id != waba_id:
        raise Refused(f"template {value.message_template_id} does not belong to WhatsApp "
                      f"Business Account {waba_id}; refused.")
    event.account_id = template.account_id
    template.status = (value.event or template.status).upper()[:32]
    template.rejected_reason = value.reason[:64] if value.reason not in (None, "NONE") else None
    template.updated_at = now
    session.add(template)
    outcome.live.append((template.account_id, {"type": "template", "template_id": template.id}))


CHANGE_HANDLERS: dict[str, Callable[..., None]] = {
    "messages": handle_messages,
    "message_template_status_update": handle_template_status,
}
