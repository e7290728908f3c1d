"""Read models for the admin pages: numbers, users, plans."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, select

from ctreflex.models import Account, BusinessNumber, Plan, Template, User
from ctreflex.services import phones
from ctreflex.services.l10n import format_money


@dataclasses.dataclass(frozen=True)
class NumberRow:
    id: int
    channel: str
    number: str
    display_name: str
    verified_name: str
    name_status: str
    quality: str
    messaging_limit: str
    throughput: str
    status: str


@dataclasses.dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    role: str
    active: bool


@dataclasses.dataclass(frozen=True)
class PlanRow:
    code: str
    name: str
    whatsapp: bool
    fee: str
    seats: int
    numbers: int
    current: bool


@dataclasses.dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    language: str
    category: str
    status: str
    quality: str


def list_numbers(*, session: Session, account_id: int) -> list[NumberRow]:
    rows = session.exec(
        select(BusinessNumber)
        .where(BusinessNumber.account_id == account_id)
        .order_by(BusinessNumber.channel, BusinessNumber.id)
    ).all()
    return [
        NumberRow(
            id=n.id,
            channel=n.channel,
            number=phones.format_international(n.e164),
            display_name=n.display_name,
            verified_name=n.verified_name,
            name_status=n.name_status,
            quality=n.quality_rating,
            messaging_limit=n.messaging_limit,
            throughput=n.throughput_level,
            status=n.status,
        )
        for n in rows
    ]


def list_users(*, session: Session, account_id: int) -> list[UserRow]:
    rows = session.exec(select(User).where(User.account_id == account_id).order_by(User.email))
    return [
        UserRow(id=u.id, name=u.name, email=u.email, role=u.role, active=u.active) for u in rows
    ]


def list_plans(*, session: Session, account_id: int) -> list[PlanRow]:
    account = session.get(Account, account_id)
    rows = session.exec(select(Plan).order_by(Plan.sort_order)).all()
    return [
        PlanRow(
            code=p.code,
            name=p.name,
            whatsapp=p.whatsapp_included,
            fee=format_money(p.fee_minor, p.currency) + " per message",
            seats=p.seats,
            numbers=p.number_limit,
            current=account is not None and account.plan_id == p.id,
        )
        for p in rows
    ]


def list_templates(*, session: Session, account_id: int) -> list[TemplateRow]:
    rows = session.exec(
        select(Template)
        .where(Template.account_id == account_id)
        .order_by(Template.name, Template.language)
    )
    return [
        TemplateRow(
            id=t.id,
            name=t.name,
            language=t.language,
            category=t.category,
            status=t.status,
            quality=t.quality,
        )
        for t in rows
    ]
