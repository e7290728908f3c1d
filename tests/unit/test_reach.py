"""One place says whether a contact can be reached on a channel now (services/reach.py): the
WhatsApp sender, the SMS sender and the composer's channel switch give the same answer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ctreflex.models import Account, Contact, Conversation, Plan
from ctreflex.services import outbound, reach, sms
from ctreflex.services.outbound import SendRefused


def _conv_of(session, name: str) -> Conversation:
    contact = session.exec(select(Contact).where(Contact.name == name)).one()
    return session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()


def test_a_landline_is_refused_alike_by_the_sms_sender_and_the_channel_switch(seeded):
    conv = _conv_of(seeded, "Oliver Hughes")  # a UK landline
    contact = seeded.get(Contact, conv.contact_id)
    rule = reach.sms(seeded, contact)
    assert rule is not None and rule.field == "to" and "landline" in rule.message
    with pytest.raises(SendRefused) as info:
        sms.check_send(session=seeded, account_id=conv.account_id, conversation_id=conv.id,
                       body="Hello")
    assert (info.value.message, info.value.field) == (rule.message, rule.field)
    options = {o.channel: o for o in sms.channel_options(
        session=seeded, account_id=conv.account_id, conversation_id=conv.id)}
    assert options["sms"].reason == rule.message and not reach.mms_allowed(contact)


def test_an_account_without_early_access_is_refused_alike_on_whatsapp(seeded):
    conv = _conv_of(seeded, "Maria Lopez")
    account = seeded.get(Account, conv.account_id)
    account.early_access = False  # in this session only: what both senders read
    rule = reach.whatsapp_account(account, seeded.get(Plan, account.plan_id))
    assert rule is not None and "early access" in rule.message
    with pytest.raises(SendRefused) as info:
        outbound._target(seeded, account.id, conv.id)
    assert (info.value.message, info.value.field) == (rule.message, rule.field)
    options = {o.channel: o for o in sms.channel_options(
        session=seeded, account_id=account.id, conversation_id=conv.id)}
    assert options["whatsapp"].reason == rule.message and not options["whatsapp"].available
