"""Issue 12, Must show 3: one journal and one processor for WhatsApp and SMS. An SMS webhook
whose processing is killed mid-transaction is replayed like a WhatsApp one
(tests/security/test_hostile_webhooks.py::test_an_event_that_kills_the_processor_is_parked_
after_its_tries): nothing of the killed try is committed, the next processor start counts the
try before it processes, the message is stored exactly once, the events behind it go on in
order; one that kills the processor every time is parked as dead, and an admin's Retry brings
it back through the same processor."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound import journal, lifecycle, processor
from ctreflex.inbound import sms as inbound_sms
from ctreflex.models import Account, Message, WebhookEvent
from ctreflex.services import events
from tests.unit.test_processor_child import inbound_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sms"
SMS_PID = "sms:SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the MessageSid of inbound_sms.form


class ProcessorKilled(BaseException):
    """Stands for the processor process dying mid-transaction (kill -9, out of memory): nothing
    after it runs, its transaction is never committed."""


def sms_body(name: str = "inbound_sms") -> bytes:
    return (FIXTURES / f"{name}.form").read_bytes().strip()


def journal_like_the_webhooks(rows: list[journal.Row]) -> list[int]:
    """What the routes do before they answer: the journal write, committed (group commit)."""
    return journal.journal_rows(rows)


def event(event_id: int) -> WebhookEvent:
    with Session(db.get_engine()) as s:
        return s.get(WebhookEvent, event_id)


def stored(pid: str) -> list[Message]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(Message).where(Message.provider_message_id == pid)).all())


@pytest.fixture
def bakery(seeded) -> int:
    return seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one().id


@pytest.fixture
def kill_sms_once(monkeypatch):
    """The processor dies inside the SMS handler, after the message row is written (flushed,
    not committed): `times` tries die, the next ones go through."""
    real = inbound_sms.SMS_HANDLERS["inbound"]
    left = {"times": 1}

    def dying(session, event, params, outcome, now):
        real(session, event, params, outcome, now)
        session.flush()
        if left["times"] > 0:
            left["times"] -= 1
            raise ProcessorKilled
    monkeypatch.setitem(inbound_sms.SMS_HANDLERS, "inbound", dying)
    return left


def test_an_sms_killed_mid_processing_is_replayed_once_in_order(bakery, kill_sms_once):
    wamid_before, wamid_after = "wamid.SMSKILL.before", "wamid.SMSKILL.after"
    before, sms_id, after = journal_like_the_webhooks([
        ("whatsapp", "", None, inbound_text(wamid_before, "Hello on WhatsApp")),
        ("sms", "inbound", bakery, sms_body()),
        ("whatsapp", "", None, inbound_text(wamid_after, "And again on WhatsApp")),
    ])
    assert before < sms_id < after

    with pytest.raises(ProcessorKilled):  # the batch dies with the SMS half written
        processor.process_due()
    # its transaction is gone (the event before it may have been committed in an earlier one)
    assert stored(SMS_PID) == [] and stored(wamid_after) == []
    assert (event(sms_id).state, event(sms_id).attempts) == ("pending", 0)

    taken, outcome = processor.process_due(careful=True)  # the next processor's first batch
    assert taken in (2, 3)
    sms_event = event(sms_id)
    assert (sms_event.state, sms_event.attempts, sms_event.account_id) == ("done", 1, bakery)
    [sms_message] = stored(SMS_PID)
    assert (sms_message.channel, sms_message.direction) == ("sms", "inbound")
    assert ("message", sms_message.id) in {(e["type"], e.get("message_id"))
                                           for _, e in outcome.live}
    first, last = stored(wamid_before)[0], stored(wamid_after)[0]
    assert first.conversation_id == sms_message.conversation_id == last.conversation_id
    assert first.id < sms_message.id < last.id  # in journal order, one conversation

    # The provider delivers the same SMS again (it got no answer in time): stored once.
    [again] = journal_like_the_webhooks([("sms", "inbound", bakery, sms_body())])
    processor.process_due()
    assert event(again).state == "done" and len(stored(SMS_PID)) == 1


def test_an_sms_that_kills_every_try_is_parked_and_retry_brings_it_back(bakery, kill_sms_once,
                                                                          seeded):
    kill_sms_once["times"] = 10**6
    sms_id, behind = journal_like_the_webhooks([
        ("sms", "inbound", bakery, sms_body()),
        ("whatsapp", "", None, inbound_text("wamid.SMSKILL.behind", "Still there?")),
    ])
    for restart in range(1, len(lifecycle.RETRY_DELAYS) + 2):  # each start: the careful batch
        with pytest.raises(ProcessorKilled):
            processor.process_due(careful=True)
        assert event(sms_id).attempts == restart  # counted before it was processed
    taken, _ = processor.process_due(careful=True)
    parked = event(sms_id)
    assert (taken, parked.state) == (2, "dead")
    assert "the processor stopped while processing it" in parked.error
    assert event(behind).state == "done" and stored(SMS_PID) == []

    # The admin's dead letters: Retry (a fresh set of tries) once the cause is gone.
    kill_sms_once["times"] = 0
    with db.session_scope() as s:
        row = events.retry_event(session=s, event_id=sms_id, account_id=bakery)
    assert row is not None and event(sms_id).state == "retry"
    processor.process_due()
    assert event(sms_id).state == "done" and len(stored(SMS_PID)) == 1
