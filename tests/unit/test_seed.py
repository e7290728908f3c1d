"""The demo business `make run` shows."""

import datetime as dt

from sqlmodel import func, select

from ctreflex.models import Account, BusinessNumber, Contact, Conversation, Plan
from ctreflex.services import conversations, crypto
from ctreflex.services.seed import DEMO_TOKEN, seed_demo


def test_seed_creates_the_demo_bakery_once(seeded):
    assert seed_demo(session=seeded) is False  # second run changes nothing
    bakery = seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    plan = seeded.get(Plan, bakery.plan_id)
    assert plan.code == "professional" and plan.whatsapp_included and bakery.early_access
    numbers = seeded.exec(
        select(BusinessNumber).where(BusinessNumber.account_id == bakery.id)
    ).all()
    assert sorted(n.channel for n in numbers) == ["sms", "whatsapp"]
    wa = next(n for n in numbers if n.channel == "whatsapp")
    assert wa.access_token_encrypted != DEMO_TOKEN
    assert crypto.decrypt(wa.access_token_encrypted) == DEMO_TOKEN
    contacts = seeded.exec(select(Contact).where(Contact.account_id == bakery.id)).all()
    assert len(contacts) >= 12
    assert len({c.region for c in contacts}) >= 6
    assert seeded.exec(select(func.count()).select_from(Plan)).one() == 4
    basic = seeded.exec(select(Plan).where(Plan.code == "basic")).one()
    assert basic.whatsapp_included is False


def test_demo_conversations_cover_every_window_state(seeded):
    bakery = seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    rows = conversations.list_rows(session=seeded, account_id=bakery.id, tz=bakery.timezone)
    states = {r.window_state for r in rows}
    assert {"open", "closing", "closed"} <= states
    closing = next(r for r in rows if r.window_state == "closing")
    assert closing.window_text.startswith("closes in ")
    assert all(r.window_text == "Window closed" for r in rows if r.window_state == "closed")


def test_times_are_stored_in_utc(seeded):
    conv = seeded.exec(select(Conversation)).first()
    assert conv.window_expires_at.tzinfo is not None
    assert conv.window_expires_at.utcoffset() == dt.timedelta(0)
