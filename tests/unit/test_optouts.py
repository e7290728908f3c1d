"""The opt-out ledger: keywords, the contact's flags, who may be sent what, the panel rows."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ctreflex.models import Account, Contact, Conversation, Message, OptOutEvent
from ctreflex.services import optouts


def _contact(session, name: str) -> Contact:
    return session.exec(select(Contact).where(Contact.name == name)).one()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "out"),
        (" stop ", "out"),
        ("Stop.", "out"),
        ("STOPALL", "out"),
        ("stop all", "out"),
        ("Unsubscribe", "out"),
        ("cancel", "out"),
        ("END", "out"),
        ("quit", "out"),
        ("OptOut", "out"),
        ("revoke", "out"),
        ("START", "in"),
        ("yes", "in"),
        ("Unstop", "in"),
        ("subscribe!", "in"),
        ("stop by at 5", None),
        ("please stop", None),
        ("cancel my order", None),
        ("", None),
        ("Yes please, 2 loaves", None),
    ],
)
def test_sms_keywords_match_the_whole_message(text, intent):
    assert optouts.sms_keyword(text) == intent


@pytest.mark.parametrize(
    ("text", "payload", "intent"),
    [
        ("Stop promotions", None, "out"),
        ("Stop Promotions", "STOP_PROMOTIONS", "out"),
        ("Unsubscribe", None, "out"),
        ("Opt out of marketing", None, "out"),
        ("Resume promotions", None, "in"),
        ("Save me a box", "Save me a box", None),
        ("Stop by the shop?", None, None),
        (None, "stop_promos", "out"),
    ],
)
def test_whatsapp_quick_reply_intent(text, payload, intent):
    assert optouts.whatsapp_button_intent(text, payload) == intent


def test_sms_stop_refuses_sms_and_marketing_everywhere_until_start(seeded):
    maria = _contact(seeded, "Maria Lopez")
    assert optouts.can_send(session=seeded, contact_id=maria.id, channel="sms", marketing=True) == (
        True,
        "",
    )
    optouts.record(
        session=seeded,
        contact_id=maria.id,
        channel="sms",
        scope="all",
        action="out",
        source='SMS keyword "STOP"',
    )
    assert maria.sms_opted_out
    ok, reason = optouts.can_send(
        session=seeded, contact_id=maria.id, channel="sms", marketing=False
    )
    assert not ok and "replying STOP" in reason and "START" in reason
    ok, reason = optouts.can_send(
        session=seeded, contact_id=maria.id, channel="whatsapp", marketing=True
    )
    assert not ok and "any channel" in reason
    # service messages on WhatsApp still go through
    assert optouts.can_send(
        session=seeded, contact_id=maria.id, channel="whatsapp", marketing=False
    )[0]
    optouts.record(
        session=seeded,
        contact_id=maria.id,
        channel="sms",
        scope="all",
        action="in",
        source='SMS keyword "START"',
    )
    assert optouts.can_send(
        session=seeded, contact_id=maria.id, channel="whatsapp", marketing=True
    ) == (True, "")
    rows = optouts.ledger(session=seeded, contact_id=maria.id)
    assert [(r.action, r.summary) for r in rows] == [
        ("in", "Opted back in to all SMS"),
        ("out", "Opted out of all SMS"),
    ]
    assert rows[0].at.tzinfo is not None


def test_marketing_opt_out_leaves_service_sms(seeded):
    dev = _contact(seeded, "Dev Patel")
    optouts.record(
        session=seeded,
        contact_id=dev.id,
        channel="whatsapp",
        scope="marketing",
        action="out",
        source="agent",
    )
    assert optouts.can_send(session=seeded, contact_id=dev.id, channel="sms", marketing=False) == (
        True,
        "",
    )
    for channel in ("sms", "whatsapp"):
        ok, reason = optouts.can_send(
            session=seeded, contact_id=dev.id, channel=channel, marketing=True
        )
        assert not ok and "opted out of marketing (agent" in reason
    state = optouts.state(session=seeded, contact_id=dev.id)
    assert state.marketing_opted_out and not state.sms_opted_out


def test_whatsapp_stop_promotions_button_marks_a_marketing_opt_out(seeded):
    lena = _contact(seeded, "Lena Schmidt")
    conv = seeded.exec(select(Conversation).where(Conversation.contact_id == lena.id)).one()
    tap = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction="inbound",
        channel="whatsapp",
        kind="button",
        body="Stop promotions",
        payload={"payload": "Stop promotions"},
        status="received",
    )
    seeded.add(tap)
    seeded.flush()
    event = optouts.handle_whatsapp_button(seeded, tap)
    assert event is not None and event.scope == "marketing" and event.action == "out"
    assert event.source == 'WhatsApp quick reply "Stop promotions"'
    assert lena.marketing_opted_out and not lena.sms_opted_out
    other = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction="inbound",
        channel="whatsapp",
        kind="button",
        body="Save me a box",
        status="received",
    )
    assert optouts.handle_whatsapp_button(seeded, other) is None


def test_bad_scope_is_refused(seeded):
    maria = _contact(seeded, "Maria Lopez")
    with pytest.raises(ValueError):
        optouts.record(
            session=seeded,
            contact_id=maria.id,
            channel="sms",
            scope="some",
            action="out",
            source="x",
        )


def test_demo_has_a_contact_who_replied_stop(seeded):
    bakery = seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    carlos = _contact(seeded, "Carlos Hernández")
    assert carlos.account_id == bakery.id and carlos.sms_opted_out
    rows = optouts.ledger(session=seeded, contact_id=carlos.id)
    assert [(r.channel, r.scope, r.action) for r in rows] == [("sms", "all", "out")]
    assert seeded.exec(select(OptOutEvent)).all() == [seeded.get(OptOutEvent, rows[0].id)]
    thread = seeded.exec(select(Message).where(Message.channel == "sms")).all()
    assert {m.body[:4] for m in thread} == {"STOP", "You "}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "out"),
        ("stop!", "out"),
        ("Unsubscribe", "out"),
        ("Baja", "out"),
        ("BAJA.", "out"),
        ("parar", "out"),
        ("Arrêt", "out"),
        ("ARRET", "out"),
        ("Stopp", "out"),
        ("停止", "out"),
        ("Stop promotions", "out"),
        ("START", "in"),
        ("alta", "in"),
        ("Démarrer", "in"),
        ("Começar", "in"),
        ("yes", None),  # an answer on WhatsApp, not consent
        ("cancel", None),
        ("stop by at 5", None),
        ("Please stop the order", None),
        ("¿Tenéis pan sin gluten?", None),
        ("", None),
    ],
)
def test_whatsapp_keywords_whole_message_accents_and_case_ignored(text, intent):
    assert optouts.whatsapp_keyword(text) == intent


@pytest.mark.parametrize("text", [
    "".join(map(chr, range(128))),  # every ASCII character once
    *(f"{chr(c)}stop{chr(c)}x-y" for c in range(128)),
    "  Stop!!! ", "opt-out.", "STOP\tALL\n", "\x00stop\x7f", "",
])
def test_the_ascii_fold_is_the_unicode_fold(text):
    """fold() takes one pass for ASCII text (the common case on the processor's fast path):
    exactly what the general NFKD route gives."""
    assert optouts.fold(text) == optouts._fold_unicode(text)


def _inbound_text(session, conv, body: str) -> Message:
    msg = Message(
        account_id=conv.account_id,
        conversation_id=conv.id,
        direction="inbound",
        channel="whatsapp",
        kind="text",
        body=body,
        status="received",
    )
    session.add(msg)
    session.flush()
    return msg


def test_whatsapp_stop_text_refuses_marketing_everywhere_until_start(seeded):
    sofia = _contact(seeded, "Sofía García")
    conv = seeded.exec(select(Conversation).where(Conversation.contact_id == sofia.id)).one()
    assert optouts.handle_whatsapp_inbound(seeded, _inbound_text(seeded, conv, "hola")) is None
    event = optouts.handle_whatsapp_inbound(seeded, _inbound_text(seeded, conv, "¡Baja!"))
    assert event is not None and (event.channel, event.scope, event.action) == (
        "whatsapp",
        "marketing",
        "out",
    )
    assert sofia.marketing_opted_out and not sofia.sms_opted_out
    for channel in ("whatsapp", "sms"):
        ok, reason = optouts.can_send(
            session=seeded, contact_id=sofia.id, channel=channel, marketing=True
        )
        assert not ok and "any channel" in reason
        # replies to her own questions still go
        assert optouts.can_send(
            session=seeded, contact_id=sofia.id, channel=channel, marketing=False
        ) == (True, "")
    # a second STOP adds no row; START lifts it
    assert optouts.handle_whatsapp_inbound(seeded, _inbound_text(seeded, conv, "STOP")) is None
    assert optouts.handle_whatsapp_inbound(seeded, _inbound_text(seeded, conv, "Alta")) is not None
    assert optouts.can_send(
        session=seeded, contact_id=sofia.id, channel="sms", marketing=True
    ) == (True, "")
    assert [r.summary for r in optouts.ledger(session=seeded, contact_id=sofia.id)] == [
        "Opted back in to marketing (WhatsApp)",
        "Opted out of marketing (WhatsApp)",
    ]


def test_agent_records_what_the_customer_asked_in_words(seeded):
    lena = _contact(seeded, "Lena Schmidt")
    optouts.record_by_agent(session=seeded, contact_id=lena.id, action="out", agent="Sam Agent")
    ok, reason = optouts.can_send(
        session=seeded, contact_id=lena.id, channel="sms", marketing=True
    )
    assert not ok and "Recorded by Sam Agent" in reason
    rows = optouts.ledger(session=seeded, contact_id=lena.id)
    assert rows[0].summary == "Opted out of marketing (all channels)"
    optouts.record_by_agent(session=seeded, contact_id=lena.id, action="in", agent="Sam Agent")
    assert optouts.can_send(
        session=seeded, contact_id=lena.id, channel="whatsapp", marketing=True
    ) == (True, "")
    with pytest.raises(ValueError):
        optouts.record_by_agent(session=seeded, contact_id=lena.id, action="maybe", agent="x")
