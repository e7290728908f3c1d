"""Sending, statuses, window, templates, US marketing, limits, auth and malformed input."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .conftest import AUTH, HARBOR_TOKEN, PNID, wait_for

pytestmark = pytest.mark.anyio

MARIA = "15550100142"
US = "12025550143"  # phonenumbers region US
CANADA = "14165550123"  # +1 416, Toronto


async def inbound(client, wa_id: str = MARIA, **body: Any) -> dict[str, Any]:
    body.setdefault("type", "text")
    if body["type"] == "text":
        body.setdefault("text", "Hi, do you have croissants today?")
    r = await client.post(f"/control/customers/{wa_id}/messages", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def send(client, body: dict[str, Any], pnid: str = PNID, headers=None):
    return await client.post(f"/v23.0/{pnid}/messages", json=body, headers=headers or AUTH)


def text(to: str, body: str = "Yes! Fresh batch at 8am.") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": False, "body": body}}


def template(to: str, name: str, lang: str = "en_US", components=None) -> dict[str, Any]:
    tpl: dict[str, Any] = {"name": name, "language": {"code": lang}}
    if components is not None:
        tpl["components"] = components
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": tpl}


def order_ready(to: str) -> dict[str, Any]:
    return template(to, "order_ready", components=[
        {"type": "header", "parameters": [{"type": "text", "text": "#1042"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Maria"},
                                        {"type": "text", "text": "sourdough loaf"},
                                        {"type": "text", "text": "12 Baker Street"}]},
    ])


def weekend_offer(to: str, header_type: str = "image") -> dict[str, Any]:
    return template(to, "weekend_treats_offer", components=[
        {"type": "header", "parameters": [
            {"type": header_type, header_type: {"link": "https://example.com/rolls.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Liam"},
                                        {"type": "text", "text": "cinnamon rolls"},
                                        {"type": "text", "text": "15%"}]},
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": "WEEKEND15"}]},
        {"type": "button", "sub_type": "quick_reply", "index": 2,
         "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}]},
    ])


def error_of(resp) -> dict[str, Any]:
    assert resp.status_code >= 400, resp.text
    err = resp.json()["error"]
    assert err["message"].startswith(f"(#{err['code']})")
    assert err["fbtrace_id"]
    return err


async def test_text_inside_window_status_flow(sim, client, receiver):
    got = await inbound(client)
    msgs = await wait_for(lambda: receiver.messages())
    assert msgs[0]["id"] == got["wamid"] and msgs[0]["text"]["body"].startswith("Hi")
    env = receiver.accepted()[0]
    value = env["entry"][0]["changes"][0]["value"]
    assert env["object"] == "whatsapp_business_account"
    assert env["entry"][0]["id"] == "100000000000001"
    assert env["entry"][0]["changes"][0]["field"] == "messages"
    assert value["metadata"] == {"display_phone_number": "15550100100",
                                 "phone_number_id": PNID}
    assert value["contacts"] == [{"profile": {"name": "Maria Lopez"}, "wa_id": MARIA}]

    r = await send(client, text("+1 555-010-0142"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["contacts"] == [{"input": "+1 555-010-0142", "wa_id": MARIA}]
    wamid = data["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    sts = await wait_for(lambda: len(receiver.statuses(wamid)) >= 2 and receiver.statuses(wamid))
    assert [s["status"] for s in sts] == ["sent", "delivered"]
    assert "expiration_timestamp" in sts[0]["conversation"]
    for st in sts:
        assert st["recipient_id"] == MARIA and st["timestamp"].isdigit()
        assert st["pricing"] == {"billable": False, "pricing_model": "PMP",
                                 "category": "service", "type": "free_customer_service"}
    await asyncio.sleep(0.1)
    assert len(receiver.statuses(wamid)) == 2  # no read until the customer reads
    r = await client.post(f"/control/customers/{MARIA}/read", json={})
    assert r.json()["read"] == [wamid]
    read = await wait_for(lambda: [s for s in receiver.statuses(wamid) if s["status"] == "read"])
    assert read[0]["pricing"]["category"] == "service"

    # business marks the inbound message read
    r = await send(client, {"messaging_product": "whatsapp", "status": "read",
                            "message_id": got["wamid"]})
    assert r.json() == {"success": True}
    view = (await client.get(f"/control/customers/{MARIA}")).json()
    assert view["messages"][0]["read_by_business"] is True
    assert view["messages"][1]["status"] == "read"


async def test_outside_window_accepted_then_131047(sim, client, receiver):
    r = await send(client, text(MARIA))
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid)))[0]
    assert st["status"] == "failed"
    assert st["errors"][0]["code"] == 131047
    assert st["errors"][0]["title"] == "Re-engagement message"
    assert "pricing" not in st and "conversation" not in st

    # a backdated inbound message leaves the window closed
    await inbound(client, timestamp=int(time.time()) - 25 * 3600)
    r = await send(client, text(MARIA))
    wamid2 = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid2)))[0]
    assert st["errors"][0]["code"] == 131047


async def test_template_outside_window_and_pricing(sim, client, receiver):
    r = await send(client, order_ready(MARIA))
    assert r.status_code == 200, r.text
    msg = r.json()["messages"][0]
    assert msg["message_status"] == "accepted"
    sts = await wait_for(lambda: len(receiver.statuses(msg["id"])) >= 2
                         and receiver.statuses(msg["id"]))
    assert sts[0]["pricing"] == {"billable": True, "pricing_model": "PMP",
                                 "category": "utility", "type": "regular"}
    await inbound(client)
    r = await send(client, order_ready(MARIA))
    wamid = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid)))[0]
    assert st["pricing"]["billable"] is False
    assert st["pricing"]["type"] == "free_customer_service"
    outbox = (await client.get("/control/outbox", params={"to": MARIA})).json()["messages"]
    assert outbox[-1]["template"]["header"]["text"] == "Order #1042 is ready"
    assert "sourdough loaf" in outbox[-1]["template"]["body"]
    assert outbox[-1]["request"]["template"]["name"] == "order_ready"


async def test_template_errors(sim, client):
    err = error_of(await send(client, template(MARIA, "no_such_template")))
    assert err["code"] == 132001
    err = error_of(await send(client, template(MARIA, "order_ready", "de")))
    assert err["code"] == 132001
    err = error_of(await send(client, template(MARIA, "holiday_preorder")))  # PENDING
    assert err["code"] == 132001
    err = error_of(await send(client, template(MARIA, "summer_menu_launch")))  # PAUSED
    assert err["code"] == 132015
    err = error_of(await send(client, template(MARIA, "old_loyalty_promo")))  # DISABLED
    assert err["code"] == 132016
    bad = order_ready(MARIA)
    bad["template"]["components"][1]["parameters"].pop()
    err = error_of(await send(client, bad))
    assert err["code"] == 132000 and "body" in err["error_data"]["details"]
    err = error_of(await send(client, weekend_offer(MARIA, header_type="document")))
    assert err["code"] == 132012 and "IMAGE" in err["error_data"]["details"]
    no_url = weekend_offer(MARIA)
    no_url["template"]["components"].pop(2)
    err = error_of(await send(client, no_url))
    assert err["code"] == 132012 and "url" in err["error_data"]["details"]
    bad_type = order_ready(MARIA)
    bad_type["template"]["components"][1]["parameters"][0] = {"type": "image", "image": {}}
    assert error_of(await send(client, bad_type))["code"] == 132012
    newline = order_ready(MARIA)
    newline["template"]["components"][1]["parameters"][0]["text"] = "Ma\nria"
    assert error_of(await send(client, newline))["code"] == 132018
    # copy code and named parameters
    ok = template(MARIA, "loyalty_reward_code", components=[
        {"type": "body", "parameters": [{"type": "text", "text": "Dev"},
                                        {"type": "text", "text": "CAFE10"}]},
        {"type": "button", "sub_type": "copy_code", "index": 0,
         "parameters": [{"type": "coupon_code", "coupon_code": "CAFE10"}]}])
    assert (await send(client, ok)).status_code == 200
    no_code = template(MARIA, "loyalty_reward_code", components=[ok["template"]["components"][0]])
    assert error_of(await send(client, no_code))["code"] == 132012
    named = template(MARIA, "pickup_reminder", components=[{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "customer_name", "text": "Maria"},
        {"type": "text", "parameter_name": "closing_time", "text": "6 pm"},
        {"type": "text", "parameter_name": "item", "text": "birthday cake"}]}])
    assert (await send(client, named)).status_code == 200
    named["template"]["components"][0]["parameters"][0]["parameter_name"] = "name"
    assert error_of(await send(client, named))["code"] == 132000
    # authentication template: OTP copy-code button takes the code as a url parameter
    otp = template(MARIA, "login_code", components=[
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": "482913"}]}])
    assert (await send(client, otp)).status_code == 200


async def test_us_marketing_blocked_but_canada_is_not(sim, client, receiver):
    r = await send(client, weekend_offer(US))
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid)))[0]
    assert st["status"] == "failed" and st["errors"][0]["code"] == 131049
    # utility to the same US number is fine
    r = await send(client, order_ready(US))
    wamid = r.json()["messages"][0]["id"]
    assert (await wait_for(lambda: receiver.statuses(wamid)))[0]["status"] == "sent"
    # Canada shares +1 but is not blocked; the header link is fetched like Meta does
    sim.config.link_fetch_timeout = 0.5
    body = weekend_offer(CANADA)
    body["template"]["components"][0]["parameters"][0]["image"] = {"id": await _upload_jpeg(
        client)}
    r = await send(client, body)
    assert r.status_code == 200, r.text
    wamid = r.json()["messages"][0]["id"]
    sts = await wait_for(lambda: len(receiver.statuses(wamid)) >= 2 and receiver.statuses(wamid))
    assert [s["status"] for s in sts] == ["sent", "delivered"]
    assert sts[0]["pricing"] == {"billable": True, "pricing_model": "PMP",
                                 "category": "marketing", "type": "regular"}
    # the customer taps the "Stop promotions" quick reply
    r = await client.post(f"/control/customers/{CANADA}/messages",
                          json={"type": "button", "button_text": "Stop promotions"})
    assert r.status_code == 200, r.text
    tap = await wait_for(lambda: [m for m in receiver.messages() if m["type"] == "button"])
    assert tap[0]["button"] == {"payload": "STOP_PROMOS", "text": "Stop promotions"}
    assert tap[0]["context"] == {"from": "15550100100", "id": wamid}


async def _upload_jpeg(client) -> str:
    from ctreflex.simulator import samples

    r = await client.post(f"/v23.0/{PNID}/media", headers=AUTH,
                          data={"messaging_product": "whatsapp", "type": "image/jpeg"},
                          files={"file": ("rolls.jpg", samples.jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def test_throughput_130429(sim, client):
    await inbound(client)
    results = await asyncio.gather(*[send(client, text(MARIA, f"msg {i}")) for i in range(90)])
    codes = [r.status_code for r in results]
    assert codes.count(200) == 80
    limited = [r for r in results if r.status_code != 200]
    assert all(error_of(r)["code"] == 130429 for r in limited)
    await asyncio.sleep(1.05)
    assert (await send(client, text(MARIA))).status_code == 200


async def test_unregistered_number_133010(sim, client):
    err = error_of(await send(client, text(MARIA), pnid="200000000000002"))
    assert err["code"] == 133010


async def test_auth_errors(sim, client):
    r = await send(client, text(MARIA), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and error_of(r)["code"] == 190
    r = await client.post(f"/v23.0/{PNID}/messages", json=text(MARIA))
    assert r.status_code == 401 and error_of(r)["code"] == 190
    # a token of another WABA cannot see this number
    r = await send(client, text(MARIA), headers={"Authorization": f"Bearer {HARBOR_TOKEN}"})
    err = error_of(r)
    assert err["code"] == 100 and err.get("error_subcode") == 33
    r = await client.get("/v23.0/100000000000001/message_templates",
                         headers={"Authorization": f"Bearer {HARBOR_TOKEN}"})
    assert error_of(r)["code"] == 100
    # but works on its own
    r = await client.get("/v23.0/100000000000002/phone_numbers",
                         headers={"Authorization": f"Bearer {HARBOR_TOKEN}"})
    assert [p["id"] for p in r.json()["data"]] == ["200000000000011"]
    # access_token as a query parameter also works (Graph allows it)
    r = await client.get(f"/v23.0/{PNID}", params={"access_token": "sim-token-demo-bakery"})
    assert r.json()["id"] == PNID


@pytest.mark.parametrize("payload, param", [
    (b"{not json", "JSON"),
    (b"[1, 2]", "body"),
    (b'{"to": "15550100142", "type": "text", "text": {"body": "x"}}', "messaging_product"),
    (b'{"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}', "to"),
    (b'{"messaging_product": "whatsapp", "to": "15550100142", "type": "text"}', "text['body']"),
    (b'{"messaging_product": "whatsapp", "to": "abc", "text": {"body": "x"}}', "to"),
    (b'{"messaging_product": "whatsapp", "to": "15550100142", "type": "fax"}', "type"),
    (b'{"messaging_product": "whatsapp", "to": "15550100142", "type": "image", "image": {}}',
     "image"),
    (b'{"messaging_product": "whatsapp", "to": "15550100142", "type": "template"}', "template"),
    (b'{"messaging_product": "whatsapp", "status": "read"}', "message_id"),
    (b'{"messaging_product": "whatsapp", "to": 15550100142, "text": "x"}', "text"),
])
async def test_malformed_requests_get_code_100(sim, client, payload, param):
    r = await client.post(f"/v23.0/{PNID}/messages", content=payload,
                          headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert err["code"] == 100
    assert param in err["error_data"]["details"]


async def test_text_too_long_and_misc_never_500(sim, client):
    await inbound(client)
    err = error_of(await send(client, text(MARIA, "x" * 4097)))
    assert err["code"] == 100 and "4096" in err["error_data"]["details"]
    assert (await send(client, text(MARIA, "é" * 4096))).status_code == 200
    for method, path in [("GET", "/v23.0/999"), ("POST", f"/v23.0/{PNID}/unknown_edge"),
                         ("GET", "/v23.0/"), ("DELETE", "/v23.0/123"),
                         ("GET", "/notaversion/123"), ("POST", f"/v23.0/{PNID}/media"),
                         ("GET", f"/v23.0/{PNID}/a/b/c")]:
        r = await client.request(method, path, headers=AUTH)
        assert 400 <= r.status_code < 500, (method, path, r.status_code)
        assert "error" in r.json()


async def test_faults_force_error_and_duplicates(sim, client, receiver):
    await inbound(client)
    r = await client.put("/control/faults", json={"force_error_code": 131026, "count": 1})
    assert r.json()["force_error_code"] == 131026
    assert error_of(await send(client, text(MARIA)))["code"] == 131026
    assert (await send(client, text(MARIA))).status_code == 200
    await client.put("/control/faults", json={"force_error_code": 131026,
                                              "force_error_async": True, "count": 1})
    r = await send(client, text(MARIA))
    wamid = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid)))[0]
    assert st["errors"][0]["code"] == 131026
    await client.put("/control/faults", json={"duplicate_webhooks": 1.0})
    await inbound(client, text="twice")
    dup = await wait_for(lambda: len([m for m in receiver.messages()
                                      if m.get("text", {}).get("body") == "twice"]) >= 2)
    assert dup
    r = await client.put("/control/faults", json={"bogus": 1})
    assert error_of(r)["code"] == 100
    r = await client.put("/control/faults", json={"error_rate": 3})
    assert error_of(r)["code"] == 100


async def test_webhook_retries_until_receiver_recovers(sim, client, receiver):
    receiver.status = 500
    got = await inbound(client, text="are you open?")
    await wait_for(lambda: len(receiver.requests) >= 3)
    receiver.status = 200
    await wait_for(lambda: receiver.messages())
    assert receiver.messages()[0]["id"] == got["wamid"]
    # the receiver records the POST before it answers; the simulator logs the answer after
    await wait_for(lambda: not sim.dispatcher.pending())
    log = (await client.get("/control/webhooks")).json()
    d = log["deliveries"][0]
    assert d["state"] == "delivered"
    assert [a.get("status_code") for a in d["attempts"]][:3] == [500, 500, 500]
    assert d["attempts"][-1]["status_code"] == 200
    assert log["pending"] == 0
    # identical signed bytes on every attempt
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1


async def test_webhook_paused_then_resumed(sim, client, receiver):
    await client.put("/control/faults", json={"webhook_paused": True})
    await inbound(client)
    await asyncio.sleep(0.15)
    assert receiver.requests == []
    assert (await client.get("/control/webhooks")).json()["pending"] == 1
    await client.put("/control/faults", json={"webhook_paused": False})
    await wait_for(lambda: receiver.messages())


async def test_inbound_types_match_fixture_shapes(sim, client, receiver):
    await inbound(client, type="image", caption="Is this cake gluten free?")
    await inbound(client, type="document", filename="order.pdf")
    await inbound(client, type="voice")
    await inbound(client, type="location", latitude=51.5072, longitude=-0.1276,
                  name="Parking entrance")
    await inbound(client, type="unsupported")
    await inbound(client, type="interactive", button_text="Fri 3:00 pm", payload="slot_fri")
    msgs = await wait_for(lambda: len(receiver.messages()) >= 6 and receiver.messages())
    image, doc, voice, loc, unsup, inter = msgs
    assert set(image["image"]) == {"caption", "mime_type", "sha256", "id"}
    assert image["image"]["mime_type"] == "image/jpeg" and len(image["image"]["sha256"]) == 44
    assert doc["document"]["filename"] == "order.pdf"
    assert doc["document"]["mime_type"] == "application/pdf"
    assert voice["type"] == "audio" and voice["audio"]["voice"] is True
    assert voice["audio"]["mime_type"] == "audio/ogg; codecs=opus"
    assert loc["location"]["latitude"] == 51.5072
    assert unsup["errors"][0]["code"] == 131051 and unsup["unsupported"]["type"] == "poll"
    assert inter["interactive"] == {"type": "button_reply",
                                    "button_reply": {"id": "slot_fri", "title": "Fri 3:00 pm"}}
    # the app can fetch inbound media through the Graph media endpoints
    info = (await client.get(f"/v23.0/{image['image']['id']}", headers=AUTH)).json()
    assert info["mime_type"] == "image/jpeg"
    url = info["url"].replace("http://sim", "")
    data = (await client.get(url, headers=AUTH)).content
    import base64
    import hashlib

    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == image["image"]["sha256"]
    assert hashlib.sha256(data).hexdigest() == info["sha256"]


async def test_template_status_change_webhook(sim, client, receiver):
    r = await client.post("/control/templates/300000000000101/status",
                          json={"status": "PAUSED", "reason": "LOW_QUALITY"})
    assert r.status_code == 200
    change = (await wait_for(lambda: receiver.changes("message_template_status_update")))[0]
    assert change["value"]["event"] == "PAUSED"
    assert change["value"]["message_template_name"] == "weekend_treats_offer"
    assert change["value"]["message_template_language"] == "en_US"
    assert str(change["value"]["message_template_id"]) == "300000000000101"
    assert change["value"]["reason"] == "LOW_QUALITY"
    err = error_of(await send(client, weekend_offer(CANADA)))
    assert err["code"] == 132015


async def test_messaging_limit_tier_fails_new_customers_beyond_it(sim, client, receiver):
    """TIER_50: 50 customers reached by template outside their window in 24 h; the 51st new
    one fails asynchronously (131048), a customer already counted or who wrote first does not."""
    sim.state.phone_numbers[PNID].messaging_limit_tier = "TIER_50"
    leads = [f"4915112{i:06d}" for i in range(51)]
    wamids = []
    for wa_id in leads[:50]:
        r = await send(client, order_ready(wa_id))
        assert r.status_code == 200, r.text
        wamids.append(r.json()["messages"][0]["id"])
    st = (await wait_for(lambda: receiver.statuses(wamids[-1])))[0]
    assert st["status"] == "sent"
    r = await send(client, order_ready(leads[50]))
    assert r.status_code == 200  # accepted: the failure is asynchronous, as at Meta
    st = (await wait_for(lambda: receiver.statuses(r.json()["messages"][0]["id"])))[0]
    assert st["status"] == "failed" and st["errors"][0]["code"] == 131048
    # a customer already counted costs nothing more
    r = await send(client, order_ready(leads[3]))
    assert (await wait_for(lambda: receiver.statuses(r.json()["messages"][0]["id"])))[0][
        "status"] == "sent"
    # a customer who wrote first is inside the window: not business-initiated
    await inbound(client, MARIA)
    r = await send(client, order_ready(MARIA))
    assert (await wait_for(lambda: receiver.statuses(r.json()["messages"][0]["id"])))[0][
        "status"] == "sent"
