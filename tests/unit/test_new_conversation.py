"""Issue 14, "New conversation" and the picker's checks (services): a typed number is validated
with its country; every refusal the send path knows is known before Send, for a number that
never wrote too, and nothing is created until the template goes; the contact edit refuses a
number another contact has; template variables filled in advance; the per-kind size refusal."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import phonenumbers
import pytest
from sqlmodel import func, select

from ctreflex.models import Contact, Conversation
from ctreflex.pages.inbox.composer import too_large_message
from ctreflex.services import contact_edit, optouts, template_prefill
from ctreflex.services import new_conversation as nc
from ctreflex.services.new_conversation import InvalidRecipient
from ctreflex.services.outbound import SendRefused
from ctreflex.services.template_send import US_MARKETING_REASON
from tests.unit.test_templates_service import _bakery, _load_templates


@pytest.fixture
def bakery(seeded):
    account = _bakery(seeded)
    return seeded, account, _load_templates(seeded, account)


def _fresh(prefix: str) -> str:
    """A valid number no seeded contact has (+1 212 … New York, +1 416 … Toronto)."""
    while True:
        e164 = f"+{prefix}{random.randint(2000000, 9999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            return e164


def _counts(session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(Contact)).one(),
        session.exec(select(func.count()).select_from(Conversation)).one(),
    )


def test_a_typed_number_is_validated_with_its_country():
    assert nc.parse_number("416 555 0123", "CA").e164 == "+14165550123"
    assert nc.parse_number("+1 212 555 0142", "GB").region == "US"  # + wins over the country
    for raw, region, says in (
        ("", "US", "Enter the customer's phone number."),
        ("call me", "US", "use digits only"),
        ("4165550123", "", "Choose the number's country"),
        ("555 1234", "US", "is not a valid phone number in United States"),
        ("+44 20 12", "", "not a valid phone number"),
    ):
        with pytest.raises(InvalidRecipient) as err:
            nc.parse_number(raw, region)
        assert says in err.value.message


def test_find_contacts_by_name_or_digits(bakery):
    session, account, _ = bakery
    by_name = nc.find_contacts(session=session, account_id=account.id, query="maria")
    assert [c.name for c in by_name] == ["Maria Lopez"]
    assert by_name[0].conversation_id > 0 and by_name[0].country == "United States"
    by_digits = nc.find_contacts(session=session, account_id=account.id, query="212 555 0142")
    assert [c.name for c in by_digits] == ["Maria Lopez"]


def test_refusals_before_send_for_a_number_that_never_wrote(bakery):
    session, account, tpls = bakery
    marketing = tpls[("weekend_treats_offer", "en_US")].id
    utility = tpls[("order_ready", "en_US")].id
    before = _counts(session)
    us = nc.recipient_for_number(session=session, account_id=account.id, raw=_fresh("1212"))
    ca = nc.recipient_for_number(session=session, account_id=account.id, raw=_fresh("1416"))
    assert us.contact_id == 0 and ca.country == "Canada"
    found = nc.refusals(account_id=account.id, to=us, template_ids=[marketing, utility])
    assert found == {marketing: US_MARKETING_REASON}  # utility may go to a US number
    assert nc.refusals(account_id=account.id, to=ca, template_ids=[marketing, utility]) == {}
    view = nc.outlook(account_id=account.id, to=ca)
    assert view.limit_text.endswith("in the last 24 h") and view.refusal == ""
    assert view.level in ("ok", "warn") and "Demo Bakery" in view.number
    # a refused start creates nothing either
    with pytest.raises(SendRefused, match="United States"):
        asyncio.run(
            nc.start_with_template(
                account_id=account.id, user_id=1, to=us, template_id=marketing, values={}
            )
        )
    assert _counts(session) == before


def test_an_opted_out_contact_is_refused_marketing_before_send(bakery):
    session, account, tpls = bakery
    marketing = tpls[("weekend_treats_offer", "en_US")].id
    emma = session.exec(select(Contact).where(Contact.e164 == "+14165550123")).one()
    to = nc.recipient_for_contact(session=session, account_id=account.id, contact_id=emma.id)
    assert nc.refusals(account_id=account.id, to=to, template_ids=[marketing]) == {}
    optouts.record(
        session=session,
        contact_id=emma.id,
        channel="whatsapp",
        scope="marketing",
        action="out",
        source="Agent",
    )
    session.commit()
    found = nc.refusals(account_id=account.id, to=to, template_ids=[marketing])
    assert "opted out of marketing" in found[marketing]


def test_contact_edit_validates_and_refuses_another_contacts_number(bakery):
    session, account, _ = bakery
    maria = session.exec(select(Contact).where(Contact.e164 == "+12125550142")).one()
    conv_id = session.exec(select(Conversation.id).where(Conversation.contact_id == maria.id)).one()
    with pytest.raises(InvalidRecipient) as err:
        contact_edit.save(
            session=session,
            account_id=account.id,
            conversation_id=conv_id,
            name="Maria",
            number="+1 416 555 0123",
        )
    assert err.value.field == "number" and "already the number of Emma Tremblay" in str(err.value)
    with pytest.raises(InvalidRecipient, match="not a valid phone number"):
        contact_edit.save(
            session=session, account_id=account.id, conversation_id=conv_id, name="", number="12"
        )
    new = _fresh("1212")
    card = contact_edit.save(
        session=session,
        account_id=account.id,
        conversation_id=conv_id,
        name="  María   López ",
        number=new,
    )
    assert (card.name, card.e164, card.wa_id) == ("María López", new, new.lstrip("+"))


def test_variables_filled_in_advance(bakery):
    session, account, tpls = bakery
    maria = session.exec(select(Contact).where(Contact.e164 == "+12125550142")).one()

    def known(name: str, **kw) -> dict[str, str]:
        return template_prefill.known_values(
            session=session, account_id=account.id, template_id=tpls[(name, "en_US")].id, **kw
        )

    assert known("weekend_treats_offer", contact_id=maria.id) == {"body.1": "Maria"}  # "Hi {{1}}"
    assert known("pickup_reminder", contact_id=maria.id) == {"body.customer_name": "Maria"}
    assert known("loyalty_reward_code", typed_name="Ana Ruiz") == {"body.1": "Ana"}  # Thanks, {{1}}
    assert known("order_ready", contact_id=maria.id)["body.1"] == "Maria"
    assert "header.text" not in known("order_ready", contact_id=maria.id)  # "Order {{1}}…"
    assert known("weekend_treats_offer") == {}  # nothing known: nothing guessed


def test_too_large_is_said_per_kind():
    assert "Photos can be at most 5 MB" in too_large_message("image/png", 6_200_000)
    assert "this file is 6.2 MB" in too_large_message("image/png", 6_200_000)
    assert "PDF documents can be at most 100 MB" in too_large_message(
        "application/pdf", 101_000_000
    )


def test_the_messaging_limit_at_100_percent_refuses_a_new_customer(bakery, monkeypatch):
    from ctreflex.models import BusinessNumber, Message, utc_now
    from ctreflex.services import numbers

    session, account, tpls = bakery
    monkeypatch.setattr(numbers, "tier_limit", lambda code: 1)  # a number allowed 1 customer
    number = session.exec(
        select(BusinessNumber).where(
            BusinessNumber.account_id == account.id, BusinessNumber.channel == "whatsapp"
        )
    ).first()
    # a customer who never wrote got a template: 1 of 1 used
    dev = Contact(account_id=account.id, e164=_fresh("1212"), region="US", name="Dev Counted")
    session.add(dev)
    session.flush()
    conv = Conversation(account_id=account.id, contact_id=dev.id, business_number_id=number.id)
    session.add(conv)
    session.flush()
    session.add(
        Message(
            account_id=account.id,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction="outbound",
            channel="whatsapp",
            kind="template",
            body="Hi Dev",
            status="delivered",
            created_at=utc_now() - dt.timedelta(hours=1),
        )
    )
    session.commit()
    to = nc.recipient_for_number(session=session, account_id=account.id, raw=_fresh("1416"))
    view = nc.outlook(account_id=account.id, to=to)
    assert (view.limit_text, view.level) == ("1 of 1 in the last 24 h", "full")
    assert "reached its messaging limit" in view.refusal and "frees up at" in view.refusal
    utility = tpls[("order_ready", "en_US")].id
    found = nc.refusals(account_id=account.id, to=to, template_ids=[utility])
    assert "reached its messaging limit" in found[utility]
    # Dev, already counted, may still get one
    dev_to = nc.recipient_for_contact(session=session, account_id=account.id, contact_id=dev.id)
    assert nc.outlook(account_id=account.id, to=dev_to).refusal == ""
