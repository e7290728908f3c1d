"""Sends under the simulator's faults: nothing lost, nothing doubled (issue 11, must-show 4).

The app's real send path talks over HTTP to the in-process simulator (tests/api/conftest.py's
live server). The Graph client is made quick for tests (1 s timeout, no in-process retries,
so every retry below is the durable outbox's), and the outbox is driven by calling its job
with a moved clock instead of waiting minutes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import httpx
import pytest
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.jobs import tasks
from ctreflex.models import Account, Contact, Conversation, Message, UsageRecord, utc_now
from ctreflex.services import graph, outbound, outbox, thread_view
from ctreflex.whatsapp import CloudAPIClient
from tests.api.conftest import live_api, wait_for  # noqa: F401 - live_api is a fixture

MARIA = "12125550142"  # a seeded Demo Bakery customer with an open window


class Net:
    """The test's say over the network: the next `connect_failures` Graph requests fail with a
    connect error (nothing sent)."""

    connect_failures = 0


class FlakyTransport(httpx.AsyncBaseTransport):
    def __init__(self, net: Net) -> None:
        self.net = net
        self.inner = httpx.AsyncHTTPTransport()  # one per client: clients live on one loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.net.connect_failures > 0:
            self.net.connect_failures -= 1
            raise httpx.ConnectError("connection refused (test)", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def net(monkeypatch):
    """Quick Graph clients (1 s timeout, no in-process retries) over a transport the test can
    make refuse connections; the outbox's own timer off (the tests drive the job)."""
    state = Net()

    def client(token, **kwargs):
        return CloudAPIClient(
            token,
            timeout=1.0,
            max_retries=0,
            retry_wait_base=0,
            transport=FlakyTransport(state),
            **kwargs,
        )

    monkeypatch.setattr(graph, "CloudAPIClient", client)
    monkeypatch.setattr(outbound, "AUTO_WAKE", False)
    graph._clients.clear()
    yield state
    graph._clients.clear()


@pytest.fixture
def sim(live_api, net):  # noqa: F811 - the imported fixture
    yield live_api
    live_api.control("PUT", "/faults", json={"force_error_code": None, "hang_after_accept_ms": 0,
                                             "webhook_paused": False})


def _conversation() -> tuple[int, int]:
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.wa_id == MARIA)).one()
        conv = s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
        return conv.account_id, conv.id


def _send(sim, body: str) -> int:
    account_id, conv_id = _conversation()
    return sim.run(
        outbound.send_text(account_id=account_id, user_id=1, conversation_id=conv_id, body=body)
    )


def _message(message_id: int) -> Message:
    with Session(db.get_engine()) as s:
        return s.get(Message, message_id)


def _copies(sim, body: str) -> list[dict]:
    """What reached the customer's phone with this text (the simulator's outbox)."""
    out = sim.control("GET", "/outbox", params={"to": MARIA}).json()["messages"]
    return [o for o in out if (o["request"].get("text") or {}).get("body") == body]


def _row(message_id: int) -> thread_view.MessageRow:
    account_id, conv_id = _conversation()
    with Session(db.get_engine()) as s:
        tz = s.get(Account, account_id).timezone
        rows = thread_view.thread_rows(
            session=s, account_id=account_id, conversation_id=conv_id, tz=tz
        )
    return next(r for r in rows if r.id == message_id)


def _outbox(sim, now: dt.datetime) -> outbox.OutboxRun:
    return sim.run(outbox.run_outbox(now=now))


def test_timeout_after_accept_is_unconfirmed_then_reconciled_by_the_status_webhook(sim):
    body = "Your cake is ready (timeout case)"
    # the statuses are held until the unconfirmed state is checked: on a busy machine the
    # "delivered" webhook (1.3 s after the accept) could otherwise reconcile it mid-check
    r = sim.control("PUT", "/faults", json={"hang_after_accept_ms": 4000,
                                            "hang_after_accept_count": 1,
                                            "webhook_paused": True})
    assert r.status_code == 200, r.text
    message_id = _send(sim, body)

    msg = _message(message_id)
    assert msg.status == "unconfirmed" and msg.provider_message_id is None
    assert msg.callback_id and str(message_id) in msg.callback_id
    row = _row(message_id)
    assert row.unconfirmed and row.unconfirmed_title.startswith("Sent? Waiting for WhatsApp")
    assert not row.failed and not row.retryable  # no Retry button for an unconfirmed send
    account_id, _ = _conversation()
    with pytest.raises(outbound.SendRefused, match="check with the customer"):
        sim.run(outbound.retry(account_id=account_id, user_id=1, message_id=message_id))
    # the outbox never sends it again, whenever it runs
    assert _outbox(sim, utc_now() + dt.timedelta(hours=2)).sent == 0

    # Meta's status webhook echoes the callback data: the message gets its wamid, moves on
    copies = _copies(sim, body)
    assert len(copies) == 1
    assert copies[0]["request"]["biz_opaque_callback_data"] == msg.callback_id

    sim.control("PUT", "/faults", json={"webhook_paused": False})

    def reconciled():
        m = _message(message_id)
        return m if m.provider_message_id and m.status in ("sent", "delivered", "read") else None

    msg = wait_for(reconciled, timeout=30)
    assert msg.provider_message_id == copies[0]["wamid"]
    assert not _row(message_id).unconfirmed
    with Session(db.get_engine()) as s:  # billed once
        usage = s.exec(select(UsageRecord).where(UsageRecord.message_id == message_id)).all()
        assert len(usage) == 1
    assert len(_copies(sim, body)) == 1  # exactly one copy on the customer's phone


def test_unconfirmed_for_a_day_says_check_with_the_customer(sim):
    body = "Unconfirmed for a day"
    sim.control("PUT", "/faults", json={"hang_after_accept_ms": 3000,
                                        "hang_after_accept_count": 1,
                                        "webhook_paused": True})
    try:
        message_id = _send(sim, body)
        with Session(db.get_engine()) as s:
            m = s.get(Message, message_id)
            assert m.status == "unconfirmed"
            m.last_attempt_at = utc_now() - dt.timedelta(hours=25)
            s.add(m)
            s.commit()
        row = _row(message_id)
        assert row.unconfirmed and not row.retryable
        assert row.unconfirmed_title == "Unconfirmed: check with the customer before resending"
    finally:
        sim.control("PUT", "/faults", json={"webhook_paused": False})


def test_rate_limit_every_time_is_retried_with_backoff_then_failed_with_the_reason(sim):
    body = "Rate limited every time"
    sim.control("PUT", "/faults", json={"force_error_code": 130429})
    message_id = _send(sim, body)
    msg = _message(message_id)
    assert (msg.status, msg.send_attempts) == ("queued", 1)
    first_wait = msg.next_attempt_at - msg.last_attempt_at  # from when the send started
    assert outbound.BACKOFF[0] <= first_wait < outbound.BACKOFF[0] + dt.timedelta(seconds=5)
    row = _row(message_id)
    assert row.queued and not row.failed and not row.retryable
    assert f"(attempt 2 of {outbound.MAX_ATTEMPTS})" in row.retry_line
    assert "Retrying at " in row.retry_line and "130429" in row.retry_line

    # not due yet: the job leaves it alone
    assert _outbox(sim, msg.last_attempt_at + dt.timedelta(seconds=5)).sent == 0
    assert _message(message_id).send_attempts == 1

    waits = [first_wait]
    clock = msg.next_attempt_at
    for attempt in range(2, outbound.MAX_ATTEMPTS + 1):
        summary = sim.run(tasks.send_outbox(now=clock))  # the scheduled job itself
        msg = _message(message_id)
        assert msg.send_attempts == attempt, summary
        if attempt < outbound.MAX_ATTEMPTS:
            assert msg.status == "queued" and "1 to retry later" in summary
            waits.append(msg.next_attempt_at - clock)
            clock = msg.next_attempt_at
    assert waits[1:] == list(outbound.BACKOFF[1:])  # then 1 min, 2 min, 4 min: growing
    assert msg.status == "failed" and msg.error_code == 130429
    assert msg.next_attempt_at is None and "130429" in msg.last_error
    row = _row(message_id)
    assert row.failed and row.retryable and not row.queued
    assert row.error_todo.startswith(f"Tried {outbound.MAX_ATTEMPTS} times")
    assert _copies(sim, body) == []  # nothing reached the customer
    # the job gives up for good: later runs send nothing
    assert _outbox(sim, clock + dt.timedelta(hours=1)).sent == 0
    assert _message(message_id).send_attempts == outbound.MAX_ATTEMPTS


def test_rate_limit_once_then_success_delivers_one_copy(sim):
    body = "Rate limited once"
    sim.control("PUT", "/faults", json={"force_error_code": 130429, "count": 1})
    message_id = _send(sim, body)
    msg = _message(message_id)
    assert msg.status == "queued" and _copies(sim, body) == []
    run = _outbox(sim, msg.next_attempt_at)
    assert run.sent == 1
    msg = _message(message_id)
    assert msg.status in ("accepted", "sent", "delivered") and msg.send_attempts == 2
    copies = _copies(sim, body)
    assert len(copies) == 1 and copies[0]["wamid"] == msg.provider_message_id
    wait_for(lambda: _message(message_id).status == "delivered", timeout=20)
    assert _outbox(sim, msg.next_attempt_at or utc_now() + dt.timedelta(hours=1)).sent == 0
    assert len(_copies(sim, body)) == 1


def test_connect_error_before_sending_is_queued_and_retried(sim, net):
    body = "Connection refused once"
    net.connect_failures = 1
    message_id = _send(sim, body)
    msg = _message(message_id)
    assert msg.status == "queued" and msg.last_error == "Could not reach WhatsApp"
    assert _copies(sim, body) == []
    assert _outbox(sim, msg.next_attempt_at).sent == 1
    assert len(_copies(sim, body)) == 1
    assert _message(message_id).provider_message_id == _copies(sim, body)[0]["wamid"]


def test_131000_and_5xx_are_queued_but_a_gateway_timeout_is_unconfirmed():
    from ctreflex.whatsapp.errors import (
        GraphAPIError,
        GraphTransportError,
        from_error_payload,
        send_disposition,
    )

    assert send_disposition(from_error_payload({"error": {"code": 131000}}, 500)) == "retry"
    assert send_disposition(GraphAPIError(None, http_status=503)) == "retry"
    assert send_disposition(GraphAPIError(None, http_status=504)) == "unconfirmed"
    assert send_disposition(from_error_payload({"error": {"code": 131047}}, 400)) == "failed"
    assert send_disposition(GraphTransportError("x", request_sent=False)) == "retry"
    assert send_disposition(GraphTransportError("x", request_sent=None)) == "unconfirmed"


def test_two_outbox_runs_at_once_send_it_once(sim, monkeypatch):
    body = "Two workers, one copy"
    sim.control("PUT", "/faults", json={"force_error_code": 130429, "count": 1})
    message_id = _send(sim, body)
    due = _message(message_id).next_attempt_at

    # both workers have read the due row before either claims it
    barrier = threading.Barrier(2, timeout=20)
    real_claim = outbox._claim

    def claim(*args, **kwargs):
        barrier.wait()
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(outbox, "_claim", claim)
    results: list[outbox.OutboxRun] = []
    errors: list[BaseException] = []

    def worker():
        try:
            results.append(asyncio.run(outbox.run_outbox(now=due)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted((r.sent, r.skipped) for r in results) == [(0, 1), (1, 0)]
    assert len(_copies(sim, body)) == 1
    assert _message(message_id).send_attempts == 2


def test_a_send_left_pending_by_a_lost_process_becomes_unconfirmed_not_resent(sim):
    body = "Interrupted send"
    message_id = _send(sim, body)
    with Session(db.get_engine()) as s:  # as if the process died before the answer
        m = s.get(Message, message_id)
        m.status, m.provider_message_id = "pending", None
        s.add(m)
        s.commit()
        started = m.last_attempt_at
    assert _outbox(sim, started + dt.timedelta(minutes=1)).stale == 0
    run = _outbox(sim, started + outbound.STALE_PENDING_AFTER + dt.timedelta(seconds=1))
    assert run.stale == 1 and run.sent == 0
    assert _message(message_id).status == "unconfirmed"
    assert len(_copies(sim, body)) == 1


def test_a_rate_limited_template_is_sent_again_by_the_outbox_exactly_as_built(sim):
    from ctreflex.models import Template
    from ctreflex.services import template_send, templates

    canada = "14165550123"  # Emma Tremblay: a closed window, only a template reaches her
    account_id, _ = _conversation()
    sync = sim.run(templates.sync_account_templates(account_id))
    assert not sync.errors
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.wa_id == canada)).one()
        conv = s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
        conv.window_expires_at = utc_now() - dt.timedelta(hours=3)
        s.add(conv)
        s.commit()
        conv_id = conv.id
        row = s.exec(select(Template).where(Template.name == "order_ready",
                                            Template.language == "en_US")).one()
    values = {"header.text": "#77", "body.1": "Emma", "body.2": "rye loaf",
              "body.3": "12 Baker Street"}
    sim.control("PUT", "/faults", json={"force_error_code": 130429, "count": 1})
    message_id = sim.run(template_send.send_template(
        account_id=account_id, user_id=1, conversation_id=conv_id, template_id=row.id,
        values=values))
    msg = _message(message_id)
    assert msg.status == "queued"

    def sent():
        out = sim.control("GET", "/outbox", params={"to": canada}).json()["messages"]
        return [o for o in out if o["request"].get("type") == "template"]

    assert sent() == []
    assert _outbox(sim, msg.next_attempt_at).sent == 1
    copies = sent()
    assert len(copies) == 1
    request = copies[0]["request"]
    assert request["biz_opaque_callback_data"] == msg.callback_id
    assert request["template"]["name"] == "order_ready"
    body = next(c for c in request["template"]["components"] if c["type"] == "body")
    assert [p["text"] for p in body["parameters"]] == ["Emma", "rye loaf", "12 Baker Street"]
    assert copies[0]["template"]["body"] == _message(message_id).body  # as previewed
    assert _message(message_id).provider_message_id == copies[0]["wamid"]


def test_a_queued_message_refused_for_good_on_its_retry_fails_with_that_reason(sim):
    from ctreflex.whatsapp.codes import describe_error

    body = "Rate limited, then the customer is unreachable"
    sim.control("PUT", "/faults", json={"force_error_code": 130429, "count": 1})
    message_id = _send(sim, body)
    msg = _message(message_id)
    assert msg.status == "queued"
    sim.control("PUT", "/faults", json={"force_error_code": 131026, "count": 1})
    run = _outbox(sim, msg.next_attempt_at)
    assert (run.sent, run.failed) == (0, 1)
    msg = _message(message_id)
    assert (msg.status, msg.error_code, msg.last_error) == ("failed", 131026, "")
    row = _row(message_id)
    help_ = describe_error(131026)
    assert row.failed and row.error_todo == help_.what_to_do
    assert row.retryable == help_.retryable
    assert _copies(sim, body) == []


class AnswerLostTransport(httpx.AsyncBaseTransport):
    """Hands the request to the provider, then loses the answer (a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        raise httpx.ReadTimeout("no answer in time (test)", request=request)


def test_an_sms_whose_answer_is_lost_is_unconfirmed_without_retry(live_api, monkeypatch):  # noqa: F811
    from ctreflex.services import sms
    from ctreflex.sms.client import SMSClient

    monkeypatch.setattr(
        sms, "SMSClient", lambda *a, **kw: SMSClient(*a, transport=AnswerLostTransport(), **kw)
    )
    sms._clients.clear()
    body = "Your order is ready (SMS, answer lost)"
    account_id, conv_id = _conversation()
    try:
        message_id = live_api.run(
            sms.send_sms(account_id=account_id, user_id=1, conversation_id=conv_id, body=body)
        )
    finally:
        sms._clients.clear()
    msg = _message(message_id)
    assert msg.channel == "sms" and msg.status == "unconfirmed"
    outbox = live_api.http.get("/sms-simulator/control/outbox",
                               params={"to": "+" + MARIA}).json()["messages"]
    assert [m["body"] for m in outbox].count(body) == 1  # it did reach the provider
    row = _row(message_id)
    assert row.unconfirmed and not row.failed and not row.retryable
    assert row.unconfirmed_title == "Sent? Waiting for the SMS provider to confirm"
