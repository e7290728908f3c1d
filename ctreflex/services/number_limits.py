"""Meta's messaging limit per WhatsApp number: use over 24 h and the refusal before a send."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session, col, select

from ctreflex.models import Account, BusinessNumber, Conversation, Message, utc_now
from ctreflex.services import numbers, phones
from ctreflex.services.timefmt import zone

LIMIT_WINDOW = dt.timedelta(hours=24)
LIMIT_WARN_AT = 0.8


@dataclasses.dataclass(frozen=True)
class LimitUse:
    """Business-initiated conversations with unique customers over the last 24 h, per number
    (a template sent while the customer's 24-hour window was closed)."""

    limit: int | None  # None: unlimited
    used: int
    customers: frozenset[int]  # contact ids counted
    frees_at: dt.datetime | None  # UTC: when the oldest counted customer leaves the 24 h
    text: str  # "187 of 250 in the last 24 h"
    warn: bool  # at or over 80 %
    full: bool  # no room for a new customer


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def limit_use(*, session: Session, number_id: int, now: dt.datetime | None = None) -> LimitUse:
    now = now or utc_now()
    number = session.get(BusinessNumber, number_id)
    limit = numbers.tier_limit(number.messaging_limit if number else "")
    since = now - LIMIT_WINDOW
    sends = session.exec(
        select(Message.conversation_id, Conversation.contact_id, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.business_number_id == number_id,
            Message.direction == "outbound",
            Message.channel == "whatsapp",
            Message.kind == "template",
            Message.created_at > since,
            col(Message.status).not_in(("failed", "refused")),
        )
    ).all()
    conv_ids = {cid for cid, _, _ in sends}
    inbound: dict[int, list[dt.datetime]] = {}
    if conv_ids:
        for cid, at in session.exec(
            select(Message.conversation_id, Message.created_at).where(
                col(Message.conversation_id).in_(conv_ids),
                Message.direction == "inbound",
                Message.channel == "whatsapp",
                Message.created_at > since - LIMIT_WINDOW,
            )
        ).all():
            inbound.setdefault(cid, []).append(_aware(at))
    latest: dict[int, dt.datetime] = {}
    for cid, contact_id, at in sends:
        at = _aware(at)
        if any(at - LIMIT_WINDOW < i <= at for i in inbound.get(cid, ())):
            continue  # inside the customer's window: not business-initiated
        if contact_id not in latest or at > latest[contact_id]:
            latest[contact_id] = at
    used = len(latest)
    frees_at = min(latest.values()) + LIMIT_WINDOW if latest else None
    if limit is None:
        text = f"{used:,} in the last 24 h (no limit)"
    else:
        text = f"{used:,} of {limit:,} in the last 24 h"
    return LimitUse(
        limit=limit,
        used=used,
        customers=frozenset(latest),
        frees_at=frees_at,
        text=text,
        warn=limit is not None and used >= LIMIT_WARN_AT * limit,
        full=limit is not None and used >= limit,
    )


def limit_refusal(
    *,
    session: Session,
    number_id: int,
    conversation_id: int,
    now: dt.datetime | None = None,
) -> str:
    """Why a template to this conversation's customer would go over the number's messaging
    limit ("" when it may go): a customer already counted, or whose window is open, costs
    nothing; a new one needs room. Checked before any Graph call (the send path and the
    picker)."""
    now = now or utc_now()
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        return ""
    if conv.window_expires_at is not None and _aware(conv.window_expires_at) > now:
        return ""
    use = limit_use(session=session, number_id=number_id, now=now)
    if not use.full or conv.contact_id in use.customers:
        return ""
    number = session.get(BusinessNumber, number_id)
    account = session.get(Account, number.account_id) if number else None
    when = ""
    if use.frees_at is not None:
        local = use.frees_at.astimezone(zone(account.timezone if account else "UTC"))
        day = "today" if local.date() == now.astimezone(local.tzinfo).date() else "tomorrow"
        when = f" Room for a new customer frees up at {local:%H:%M} {day}."
    label = phones.format_international(number.e164) if number else "This number"
    return (
        f"{label} has reached its messaging limit: {use.text}. Meta lets it start "
        f"conversations with at most {use.limit:,} new customers in 24 hours, so this template "
        f"would be refused.{when} Customers who write first can still be answered."
    )


def whatsapp_number_for(
    *, session: Session, account_id: int, conversation_id: int
) -> BusinessNumber | None:
    """The number a WhatsApp send in this conversation goes from (as outbound picks it)."""
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        return None
    number = (
        session.get(BusinessNumber, conv.business_number_id) if conv.business_number_id else None
    )
    if number is None or number.channel != "whatsapp":
        number = session.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == account_id,
                BusinessNumber.channel == "whatsapp",
                BusinessNumber.status == "connected",
            )
        ).first()
    return number
