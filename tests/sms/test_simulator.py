"""The SMS simulator's REST API and control API, driven by the app's adapter over ASGI: each
was written apart from the other, so these tests check both against the provider's contract."""

from __future__ import annotations

import base64

import httpx
import pytest

from ctreflex.sms import SMSAPIError, SMSClient, parse_inbound, parse_status, verify_signature
from ctreflex.sms_simulator import SEED_ACCOUNTS, SmsSimulatorConfig, create_sms_simulator

pytestmark = pytest.mark.anyio

DEMO = SEED_ACCOUNTS[0]
HARBOR = SEED_ACCOUNTS[1]
BUSINESS = DEMO["numbers"][0]
US_MOBILE = "+12125550142"
CA_MOBILE = "+14165550123"
GB_LANDLINE = "+442079460123"
FR_MOBILE = "+33612345678"
INBOUND_URL = "https://app.example/webhooks/sms"
STATUS_URL = "https://app.example/webhooks/sms/status"


class Recorder:
    """Stands in for the app: records each signed webhook, answers with scripted codes."""

    def __init__(self):
        self.calls: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = []
        self.answers: list[int] = []

    async def __call__(self, url, params, headers):
        self.calls.append((url, params, headers))
        return self.answers.pop(0) if self.answers else 200

    def statuses(self, sid: str) -> list[str]:
        return [
            dict(p)["MessageStatus"]
            for u, p, _ in self.calls
            if u == STATUS_URL and dict(p)["MessageSid"] == sid
        ]


@pytest.fixture
async def sim():
    recorder = Recorder()
    images: dict[str, bytes] = {
        "https://app.example/img.png": b"\x89PNG" + b"0" * 100,
        "https://app.example/huge.jpg": b"\xff\xd8" + b"0" * 6_000_000,
    }

    async def fetch(url):
        data = images.get(url)
        return (200, "image/png", data) if data is not None else (404, "text/plain", b"")

    s = create_sms_simulator(
        SmsSimulatorConfig(
            inbound_url=INBOUND_URL,
            public_base_url="https://sim.example",
            sent_delay=0.01,
            deliver_delay=0.01,
            retry_schedule=(0.01,),
            webhook_sender=recorder,
            media_fetcher=fetch,
        )
    )
    s.recorder = recorder
    yield s
    await s.stop()


def client(sim, account=DEMO) -> SMSClient:
    return SMSClient(
        account["sid"],
        account["auth_token"],
        base_url="http://sms.test",
        transport=httpx.ASGITransport(app=sim.app),
    )


def control(sim) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sms.test")


async def test_send_is_queued_then_sent_then_delivered_with_signed_receipts(sim):
    async with client(sim) as c:
        sent = await c.send(
            to=US_MOBILE, from_=BUSINESS, body="Your order is ready €", status_callback=STATUS_URL
        )
    assert sent.sid.startswith("SM") and len(sent.sid) == 34 and sent.status == "queued"
    assert sent.from_ == BUSINESS and sent.to == US_MOBILE and sent.num_segments == 1
    assert sent.account_sid == DEMO["sid"] and sent.date_created is not None
    await sim.settle()
    assert sim.recorder.statuses(sent.sid) == ["queued", "sent", "delivered"]
    for url, params, headers in sim.recorder.calls:
        assert verify_signature(DEMO["auth_token"], url, params, headers["X-Twilio-Signature"])
        assert parse_status(dict(params)).message_sid == sent.sid
    async with client(sim) as c:
        fetched = await c.fetch(sent.sid)
    assert fetched.status == "delivered"
    async with control(sim) as ctl:
        outbox = (await ctl.get("/control/outbox", params={"to": US_MOBILE})).json()
    assert [m["body"] for m in outbox["messages"]] == ["Your order is ready €"]


@pytest.mark.parametrize(
    ("to", "body", "media", "code"),
    [
        ("12125", "hi", [], 21211),  # not a phone number
        ("+15550100142", "hi", [], 21211),  # 555-01xx: not a valid number
        (GB_LANDLINE, "hi", [], 21614),  # FIXED_LINE
        (US_MOBILE, "", [], 21602),
        (US_MOBILE, "x" * 1601, [], 21617),
        (US_MOBILE, "hi", ["ftp://x/y.png"], 21620),
        (US_MOBILE, "hi", [f"https://x/{i}.png" for i in range(11)], 21623),
        (FR_MOBILE, "hi", ["https://app.example/img.png"], 21612),  # MMS: US/CA only
        ("", "hi", [], 21604),
    ],
)
async def test_invalid_sends_are_refused_with_the_providers_code(sim, to, body, media, code):
    async with client(sim) as c:
        with pytest.raises(SMSAPIError) as info:
            await c.send(to=to, from_=BUSINESS, body=body, media_urls=media)
    assert info.value.code == code and info.value.http_status == 400
    assert info.value.title and "twilio.com/docs/errors" in info.value.more_info


async def test_from_must_belong_to_the_account_and_auth_is_checked(sim):
    async with client(sim, HARBOR) as c:
        with pytest.raises(SMSAPIError) as info:
            await c.send(to=US_MOBILE, from_=BUSINESS, body="hi")
    assert info.value.code == 21606
    bad = {**DEMO, "auth_token": "0" * 32}
    async with client(sim, bad) as c:
        with pytest.raises(SMSAPIError) as info:
            await c.send(to=US_MOBILE, from_=BUSINESS, body="hi")
    assert (info.value.code, info.value.http_status) == (20003, 401)


async def test_customer_texts_are_signed_and_stop_unsubscribes(sim):
    async with control(sim) as ctl:
        r = await ctl.post(f"/control/customers/{US_MOBILE}/messages", json={"body": "Hello?"})
        assert r.status_code == 200, r.text
        r = await ctl.post(
            f"/control/customers/{US_MOBILE.lstrip('+')}/messages", json={"body": " stop "}
        )
        assert r.json()["unsubscribed"] is True
    await sim.settle()
    inbound = [(u, p, h) for u, p, h in sim.recorder.calls if u == INBOUND_URL]
    assert [parse_inbound(dict(p)).body for _, p, _ in inbound] == ["Hello?", " stop "]
    for url, params, headers in inbound:
        assert verify_signature(DEMO["auth_token"], url, params, headers["X-Twilio-Signature"])
    async with client(sim) as c:
        with pytest.raises(SMSAPIError) as info:
            await c.send(to=US_MOBILE, from_=BUSINESS, body="Promo!")
        assert info.value.code == 21610
    async with control(sim) as ctl:
        auto = (await ctl.get("/control/outbox", params={"to": US_MOBILE})).json()["messages"]
        assert auto[-1]["direction"] == "outbound-reply" and "unsubscribed" in auto[-1]["body"]
        await ctl.post(f"/control/customers/{US_MOBILE}/messages", json={"body": "START"})
    async with client(sim) as c:
        assert (await c.send(to=US_MOBILE, from_=BUSINESS, body="Welcome back")).sid


async def test_mms_is_fetched_and_checked_for_size(sim):
    async with client(sim) as c:
        ok = await c.send(
            to=CA_MOBILE,
            from_=BUSINESS,
            body="",
            media_urls=["https://app.example/img.png"],
            status_callback=STATUS_URL,
        )
        big = await c.send(
            to=US_MOBILE,
            from_=BUSINESS,
            body="cake",
            media_urls=["https://app.example/huge.jpg"],
            status_callback=STATUS_URL,
        )
        gone = await c.send(
            to=US_MOBILE,
            from_=BUSINESS,
            body="cake",
            media_urls=["https://app.example/missing.jpg"],
            status_callback=STATUS_URL,
        )
    await sim.settle()
    assert sim.recorder.statuses(ok.sid)[-1] == "delivered"
    assert sim.recorder.statuses(big.sid) == ["queued", "failed"]
    failed = [dict(p) for u, p, _ in sim.recorder.calls if dict(p).get("MessageSid") == big.sid]
    assert failed[-1]["ErrorCode"] == "11751"
    assert sim.find(gone.sid).error_code == 63019


async def test_carrier_error_ends_undelivered(sim):
    async with control(sim) as ctl:
        await ctl.put(f"/control/customers/{US_MOBILE}", json={"carrier_error": 30006})
    async with client(sim) as c:
        sent = await c.send(to=US_MOBILE, from_=BUSINESS, body="hi", status_callback=STATUS_URL)
    await sim.settle()
    assert sim.recorder.statuses(sent.sid) == ["queued", "sent", "undelivered"]
    last = dict(sim.recorder.calls[-1][1])
    assert last["ErrorCode"] == "30006" and parse_status(last).is_failed


async def test_failed_webhooks_are_retried_with_backoff(sim):
    sim.recorder.answers = [500, 503]
    async with control(sim) as ctl:
        await ctl.post(f"/control/customers/{US_MOBILE}/messages", json={"body": "anyone?"})
        await sim.settle()
        hooks = (await ctl.get("/control/webhooks")).json()
    delivery = hooks["deliveries"][-1]
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert delivery["state"] == "delivered" and hooks["pending"] == 0


async def test_inbound_mms_media_is_served(sim):
    png = base64.b64encode(b"\x89PNG-test").decode()
    async with control(sim) as ctl:
        r = await ctl.post(
            f"/control/customers/{US_MOBILE}/messages",
            json={"body": "look", "media": [{"content_type": "image/png", "base64": png}]},
        )
        url = r.json()["media_urls"][0]
        assert url.startswith("https://sim.example/media/ME")
        got = await ctl.get(url.replace("https://sim.example", ""))
    assert got.content == b"\x89PNG-test" and got.headers["content-type"] == "image/png"
    await sim.settle()
    msg = parse_inbound(dict(sim.recorder.calls[-1][1]))
    assert msg.is_mms and msg.media[0].url == url


async def test_reset_and_seed(sim):
    async with control(sim) as ctl:
        await ctl.post(f"/control/customers/{US_MOBILE}/messages", json={"body": "STOP"})
        assert (await ctl.post("/control/reset")).json() == {"ok": True}
        seed = (await ctl.get("/control/seed")).json()
        assert (await ctl.get("/control/messages")).json()["messages"] == []
    assert seed["accounts"][0]["sid"] == DEMO["sid"]
    assert seed["accounts"][0]["numbers"][0]["e164"] == BUSINESS
    assert all(len(a["sid"]) == 34 and a["sid"].startswith("AC") for a in seed["accounts"])
