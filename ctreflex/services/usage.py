"""Message counts and platform fees."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func
from sqlmodel import Session, select

from ctreflex.models import Account, Message, Plan
from ctreflex.services.admin import format_money


@dataclasses.dataclass(frozen=True)
class ChannelTotal:
    channel: str
    inbound: int
    outbound: int
    fee: str


def totals(*, session: Session, account_id: int) -> list[ChannelTotal]:
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id)
    counts: dict[str, dict[str, int]] = {}
    for channel, direction, n in session.exec(
        select(Message.channel, Message.direction, func.count())
        .where(Message.account_id == account_id)
        .group_by(Message.channel, Message.direction)
    ):
        counts.setdefault(channel, {})[direction] = n
    out = []
    for channel in sorted(counts):
        inbound = counts[channel].get("inbound", 0)
        outbound = counts[channel].get("outbound", 0)
        fee = (inbound + outbound) * plan.fee_minor if channel == "whatsapp" else 0
        out.append(ChannelTotal(channel, inbound, outbound, format_money(fee, plan.currency)))
    return out
