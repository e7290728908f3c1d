"""Outbound webhooks against a receiver inside the test (a tiny ASGI app behind
httpx.ASGITransport): the signature verifies, a 500 is retried with backoff, a conversation's
events arrive in order, a replay re-delivers, events come from the real paths (a customer's
message through the simulator, a send's statuses, an opt-out), and bad URLs are refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from ctreflex import db
from ctreflex.models import Message, WebhookDelivery, utc_now
from ctreflex.services import outbound_webhooks as hooks
from ctreflex.services import webhook_delivery, webhook_queue
from tests.api_v1.conftest import BAKERY, account_id, auth, contact, conversation_of, make_key

MARIA = "+12125550142"
DEV = "+13125550177"
URL = "http://127.0.0.1/hooks/ct"


class Receiver:
    """Records every request; answers 500 to the first `fail` requests for an event id."""

    def __init__(self):
        self.got: list[dict] = []
        self.fail: dict[str, int] = {}
        self.app = Starlette(routes=[Route("/hooks/ct", self.hook, methods=["POST"])])

    async def hook(self, request):
        raw = await request.body()
        event = json.loads(raw)
        self.got.append(
            {"raw": raw, "sig": request.headers.get("ctText-signature"), "event": event}
        )
        if self.fail.get(event["id"], 0) > 0:
            self.fail[event["id"]] -= 1
            return Response("boom", status_code=500)
        return Response("ok")

    @property
    def transport(self):
        return httpx.ASGITransport(app=self.app)

    def events(self, kind: str | None = None) -> list[dict]:
        return [g["event"] for g in self.got if kind is None or g["event"]["type"] == kind]


@pytest.fixture
def receiver(monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_WEBHOOKS_ALLOW_LOCAL", "true")
    reset_settings_cache()
    r = Receiver()
    monkeypatch.setattr(hooks, "TRANSPORT", r.transport)
    hooks._ACTIVE.clear()
    yield r
    reset_settings_cache()


def endpoint(events=hooks.EVENTS) -> hooks.NewEndpoint:
    with Session(db.get_engine()) as s:
        return hooks.create_endpoint(
            session=s, account_id=account_id(BAKERY), url=URL, events=events
        )


def verify(secret: str, raw: bytes, header: str) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts["v1"])


def inbound(conv_id: int, text: str) -> int:
    """A stored customer message, queued as ingest's publish would have it queued."""
    with Session(db.get_engine()) as s:
        m = Message(
            account_id=account_id(BAKERY),
            conversation_id=conv_id,
            direction="inbound",
            channel="whatsapp",
            kind="text",
            body=text,
            status="received",
            created_at=utc_now(),
        )
        s.add(m)
        s.flush()
        webhook_queue.enqueue_for_message(s, m.id)
        s.commit()
        return m.id


def deliver(now: dt.datetime | None = None) -> webhook_delivery.DeliveryRun:
    return asyncio.run(webhook_delivery.deliver_due(now=now))


def test_signed_delivery_verifies_with_the_secret_shown_once(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    ep = endpoint()
    assert ep.secret.startswith("whsec_")
    with Session(db.get_engine()) as s:
        stored = s.exec(select(hooks.WebhookEndpoint)).one()
        assert ep.secret not in stored.secret_encrypted  # kept encrypted, never in clear
    mid = inbound(conversation_of(MARIA), "Is the bakery open at 7?")
    assert deliver().delivered == 1
    (got,) = receiver.got
    assert verify(ep.secret, got["raw"], got["sig"])
    assert hooks.verify(ep.secret, got["raw"], got["sig"])
    assert not verify("whsec_wrong", got["raw"], got["sig"])
    assert not hooks.verify(ep.secret, got["raw"] + b" ", got["sig"])  # body tampered
    event = got["event"]
    assert event["type"] == "message.received" and event["data"]["id"] == mid
    assert event["data"]["text"] == "Is the bakery open at 7?"
    assert event["data"]["contact"]["phone"] == MARIA


def test_a_500_is_retried_with_backoff_then_delivered(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    endpoint()
    inbound(conversation_of(MARIA), "first")
    t0 = utc_now()
    with Session(db.get_engine()) as s:
        d = s.exec(select(WebhookDelivery)).one()
        event_id = json.loads(d.body)["id"]
    receiver.fail[event_id] = 2
    assert deliver(t0).retrying == 1
    assert deliver(t0 + dt.timedelta(seconds=5)).delivered == 0  # not before its time
    assert len(receiver.got) == 1
    deliver(t0 + dt.timedelta(seconds=11))  # 2nd try: 500 again, next wait 20 s
    assert deliver(t0 + dt.timedelta(seconds=40)).delivered == 1
    assert len(receiver.got) == 3 and receiver.got[0]["raw"] == receiver.got[2]["raw"]
    with Session(db.get_engine()) as s:
        (row,) = hooks.list_deliveries(session=s, account_id=account_id(BAKERY))
    assert row.state == "delivered" and row.attempts == 3
    assert [a.status for a in row.history] == ["500", "500", "200"]


def test_the_minutely_run_with_nothing_due_opens_no_client(seeded, receiver, monkeypatch):
    """The job runs every minute on every deployment, mostly with nothing to deliver: it then
    builds no HTTP client (a TLS context costs tens of ms of CPU); with a delivery due it
    does, and delivers."""
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    clients = []
    real = httpx.AsyncClient

    def counting(*args, **kwargs):
        clients.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(webhook_delivery.httpx, "AsyncClient", counting)
    endpoint()
    assert deliver().delivered == 0
    assert clients == []
    inbound(conversation_of(MARIA), "first")
    assert deliver().delivered == 1
    assert len(clients) == 1 and len(receiver.got) == 1


def test_gives_up_after_a_day(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    endpoint()
    inbound(conversation_of(MARIA), "never arrives")
    with Session(db.get_engine()) as s:
        event_id = json.loads(s.exec(select(WebhookDelivery)).one().body)["id"]
    receiver.fail[event_id] = 10**6
    t = utc_now()
    for _ in range(40):  # every try as soon as it is due
        deliver(t)
        with Session(db.get_engine()) as s:
            d = s.exec(select(WebhookDelivery)).one()
        if d.state != "pending":
            break
        t = d.next_attempt_at
    assert d.state == "failed" and d.attempts > 5
    assert d.created_at + dt.timedelta(hours=23) < t <= d.created_at + dt.timedelta(days=1, hours=1)


def test_order_per_conversation_is_kept(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    endpoint()
    maria, dev = conversation_of(MARIA), conversation_of(DEV)
    a1 = inbound(maria, "a1")
    inbound(maria, "a2")
    b1 = inbound(dev, "b1")
    inbound(maria, "a3")
    with Session(db.get_engine()) as s:
        first = next(
            d
            for d in s.exec(select(WebhookDelivery)).all()
            if json.loads(d.body)["data"]["id"] == a1
        )
        receiver.fail[json.loads(first.body)["id"]] = 1
    t0 = utc_now()
    deliver(t0)
    texts = [e["data"]["text"] for e in receiver.events()]
    assert texts == ["a1", "b1"]  # a2 and a3 wait behind a1; Dev's conversation goes on
    deliver(t0 + dt.timedelta(seconds=11))
    texts = [e["data"]["text"] for e in receiver.events()]
    assert texts == ["a1", "b1", "a1", "a2", "a3"]
    assert b1


def test_replay_redelivers_the_same_event(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    ep = endpoint()
    inbound(conversation_of(MARIA), "replay me")
    deliver()
    with Session(db.get_engine()) as s:
        (row,) = hooks.list_deliveries(session=s, account_id=account_id(BAKERY))
        with pytest.raises(hooks.WebhookError):  # another account's admin cannot
            hooks.replay(session=s, account_id=account_id("Harbor Tools"), delivery_id=row.id)
        hooks.replay(session=s, account_id=account_id(BAKERY), delivery_id=row.id)
    deliver()
    assert len(receiver.got) == 2
    a, b = receiver.got
    assert a["event"] == b["event"] and verify(ep.secret, b["raw"], b["sig"])
    with Session(db.get_engine()) as s:
        (row,) = hooks.list_deliveries(session=s, account_id=account_id(BAKERY))
    assert row.state == "delivered" and row.attempts == 2


def test_events_from_the_real_paths(live, receiver, monkeypatch):
    """A customer's message through the simulator, the statuses of an API send, an opt-out
    recorded through the API: each reaches the receiver by itself (no test-driven delivery)."""
    from tests.api.conftest import wait_for

    ep = endpoint()
    r = live.control(
        "POST",
        f"/customers/{MARIA.lstrip('+')}/messages",
        json={"type": "text", "text": "Hello from the phone"},
    )
    assert r.status_code == 200, r.text
    got = wait_for(lambda: receiver.events("message.received"), timeout=20)
    assert got[0]["data"]["text"] == "Hello from the phone"
    key = make_key()
    sent = live.http.post(
        "/api/v1/messages",
        headers=auth(key),
        json={"conversation_id": conversation_of(MARIA), "type": "text", "text": "Hi Maria!"},
    )
    assert sent.status_code == 201, sent.text

    def statuses():
        return [
            e["data"]["status"]
            for e in receiver.events("message.status")
            if e["data"]["id"] == sent.json()["id"]
        ]

    wait_for(lambda: "delivered" in statuses(), timeout=20)
    assert statuses()[0] == "accepted" and len(statuses()) == len(set(statuses()))
    dev = contact(DEV).id
    assert (
        live.http.patch(
            f"/api/v1/contacts/{dev}", headers=auth(key), json={"marketing_opted_out": True}
        ).status_code
        == 200
    )
    with Session(db.get_engine()) as s:
        queued = s.exec(
            select(WebhookDelivery).where(WebhookDelivery.event_type == "optout.changed")
        ).all()
    assert len(queued) == 1  # queued in the opt-out's own transaction
    asyncio.run(webhook_delivery.deliver_due())
    (opt,) = receiver.events("optout.changed")
    assert opt["data"]["scope"] == "marketing" and opt["data"]["action"] == "out"
    for g in receiver.got:
        assert verify(ep.secret, g["raw"], g["sig"])


def test_only_chosen_events_and_active_endpoints(seeded, receiver, monkeypatch):
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    ep = endpoint(events=["optout.changed"])
    inbound(conversation_of(MARIA), "not subscribed")
    with Session(db.get_engine()) as s:
        assert s.exec(select(WebhookDelivery)).all() == []
        hooks.set_active(session=s, account_id=account_id(BAKERY), endpoint_id=ep.id, active=False)
    endpoint(events=["message.received"])
    inbound(conversation_of(MARIA), "subscribed")
    with Session(db.get_engine()) as s:
        assert len(s.exec(select(WebhookDelivery)).all()) == 1


@pytest.mark.parametrize(
    ("url", "allow_local", "ok"),
    [
        ("https://hooks.example.com/ct", False, True),
        ("http://hooks.example.com/ct", False, False),
        ("http://127.0.0.1:9000/hook", False, False),
        ("http://127.0.0.1:9000/hook", True, True),
        ("https://10.1.2.3/hook", False, False),
        ("https://169.254.169.254/latest", False, False),
        ("https://user:pw@hooks.example.com/", False, False),
        ("ftp://hooks.example.com/", False, False),
    ],
)
def test_endpoint_urls(url, allow_local, ok, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_WEBHOOKS_ALLOW_LOCAL", "true" if allow_local else "false")
    reset_settings_cache()
    try:
        if ok:
            assert hooks.check_url(url) == url
        else:
            with pytest.raises(hooks.WebhookError):
                hooks.check_url(url)
    finally:
        reset_settings_cache()


def test_window_closing_once_per_window(seeded, receiver, monkeypatch):
    from ctreflex.models import Conversation

    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    endpoint(events=["conversation.window_closing"])
    now = utc_now()
    with Session(db.get_engine()) as s:  # Maria's window closes in 30 min; no other this hour
        for conv in s.exec(select(Conversation)).all():
            if conv.window_expires_at and conv.window_expires_at <= now + dt.timedelta(hours=1):
                conv.window_expires_at = now - dt.timedelta(hours=1)
                s.add(conv)
        maria = s.get(Conversation, conversation_of(MARIA))
        maria.window_expires_at = now + dt.timedelta(minutes=30)
        s.add(maria)
        s.commit()
    summary = asyncio.run(webhook_queue.deliver_job(now=now))
    assert summary.startswith("1 window(s) closing queued")
    asyncio.run(webhook_queue.deliver_job(now=now + dt.timedelta(minutes=1)))  # the next run
    (event,) = receiver.events("conversation.window_closing")
    assert event["data"]["conversation_id"] == conversation_of(MARIA)
    assert event["data"]["minutes_left"] == 30
