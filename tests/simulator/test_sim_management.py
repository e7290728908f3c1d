"""Media, templates listing, numbers + registration, control API, persistence, phone page."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest

from ctreflex.simulator import create_simulator, samples

from .conftest import AUTH, PNID, fast_config, wait_for

pytestmark = pytest.mark.anyio

WABA = "100000000000001"
NEW_PNID = "200000000000002"


async def upload(client, data: bytes, mime: str, name: str = "f", pnid: str = PNID):
    return await client.post(f"/v23.0/{pnid}/media", headers=AUTH,
                             data={"messaging_product": "whatsapp", "type": mime},
                             files={"file": (name, data, mime)})


async def test_media_upload_get_download_delete(sim, client):
    jpeg = samples.jpeg()
    r = await upload(client, jpeg, "image/jpeg", "cake.jpg")
    assert r.status_code == 200, r.text
    mid = r.json()["id"]
    assert mid.isdigit()
    info = (await client.get(f"/v23.0/{mid}", headers=AUTH)).json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["file_size"] == len(jpeg) and len(info["sha256"]) == 64
    url = info["url"]
    assert url.startswith("http://sim/whatsapp_business/attachments/?mid=")
    path = url.replace("http://sim", "")
    assert (await client.get(path)).status_code == 401  # token required
    r = await client.get(path, headers=AUTH)
    assert r.status_code == 200 and r.content == jpeg
    assert r.headers["content-type"] == "image/jpeg"
    other = {"Authorization": "Bearer sim-token-harbor-tools"}
    assert (await client.get(path, headers=other)).status_code == 403
    assert (await client.get(f"/v23.0/{mid}", headers=other)).status_code == 400
    r = await client.delete(f"/v23.0/{mid}", headers=AUTH)
    assert r.json() == {"success": True}
    assert (await client.get(f"/v23.0/{mid}", headers=AUTH)).status_code == 400


async def test_media_upload_rules_131053(sim, client):
    r = await upload(client, b"MZ\x90\x00binary", "application/x-msdownload", "x.exe")
    assert r.json()["error"]["code"] == 131053
    r = await upload(client, samples.pdf(), "image/jpeg", "fake.jpg")  # bytes are a PDF
    assert r.json()["error"]["code"] == 131053
    big = samples.jpeg() + b"\x00" * (5 * 1024 * 1024)
    r = await upload(client, big, "image/jpeg", "big.jpg")
    err = r.json()["error"]
    assert err["code"] == 131053 and "exceeds" in err["error_data"]["details"]
    assert (await upload(client, samples.png(), "image/png")).status_code == 200
    assert (await upload(client, samples.mp4(), "video/mp4")).status_code == 200
    assert (await upload(client, b"plain text", "text/plain")).status_code == 200
    r = await client.post(f"/v23.0/{PNID}/media", headers=AUTH,
                          data={"messaging_product": "whatsapp", "type": "image/png"})
    assert r.json()["error"]["code"] == 100 and "file" in r.json()["error"]["error_data"][
        "details"]


async def test_media_sent_as_wrong_kind_fails_async(sim, client, receiver):
    await client.post("/control/customers/15550100142/messages", json={"type": "text",
                                                                       "text": "hi"})
    pdf_id = (await upload(client, samples.pdf(), "application/pdf", "menu.pdf")).json()["id"]
    r = await client.post(f"/v23.0/{PNID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": "15550100142", "type": "image",
        "image": {"id": pdf_id, "caption": "menu"}})
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    st = (await wait_for(lambda: receiver.statuses(wamid)))[0]
    assert st["status"] == "failed" and st["errors"][0]["code"] == 131053
    r = await client.post(f"/v23.0/{PNID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": "15550100142", "type": "document",
        "document": {"id": pdf_id, "filename": "menu.pdf"}})
    wamid = r.json()["messages"][0]["id"]
    assert (await wait_for(lambda: receiver.statuses(wamid)))[0]["status"] == "sent"
    r = await client.post(f"/v23.0/{PNID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": "15550100142", "type": "image",
        "image": {"id": "999999"}})
    assert r.json()["error"]["code"] == 131009


async def test_template_paging_with_after(sim, client):
    seen: list[str] = []
    r = await client.get(f"/v23.0/{WABA}/message_templates", headers=AUTH,
                         params={"limit": 4, "fields": "name,language,status,id",
                                 "summary": "total_count,message_template_count"})
    body = r.json()
    total = body["summary"]["total_count"]
    assert body["summary"]["message_template_count"] == total
    assert body["data"][0] == {"name": "spring_whitening_offer", "language": "en_US",
                               "status": "APPROVED", "id": "300000000000001"}
    pages = 0
    while True:
        pages += 1
        seen += [t["id"] for t in body["data"]]
        nxt = body["paging"].get("next")
        if not nxt:
            break
        parts = urlsplit(nxt)
        assert parts.netloc == "sim" and "after=" in parts.query
        body = (await client.get(f"{parts.path}?{parts.query}", headers=AUTH)).json()
    assert len(seen) == total == len(set(seen)) and pages == -(-total // 4)
    assert total >= 15
    r = await client.get(f"/v23.0/{WABA}/message_templates", headers=AUTH,
                         params={"status": "APPROVED", "category": "UTILITY",
                                 "language": "es"})
    assert [(t["name"], t["language"]) for t in r.json()["data"]] == [("order_ready", "es")]
    r = await client.get(f"/v23.0/{WABA}/message_templates", headers=AUTH,
                         params={"name": "flash_sale", "fields": "name,rejected_reason,status"})
    assert r.json()["data"] == [{"name": "flash_sale_bogo", "rejected_reason": "PROMOTIONAL",
                                 "status": "REJECTED", "id": r.json()["data"][0]["id"]}]
    full = (await client.get(f"/v23.0/{WABA}/message_templates", headers=AUTH,
                             params={"limit": 100})).json()["data"]
    for t in full:
        assert {"id", "status", "category", "language", "quality_score",
                "parameter_format", "components", "name"} <= set(t)
    assert any(t["parameter_format"] == "NAMED" for t in full)
    assert any(t["category"] == "AUTHENTICATION" for t in full)


async def test_phone_numbers_and_waba(sim, client):
    r = await client.get(f"/v23.0/{WABA}/phone_numbers", headers=AUTH)
    nums = {p["id"]: p for p in r.json()["data"]}
    assert set(nums) == {PNID, "200000000000002", "200000000000003"}
    main = nums[PNID]
    assert main["display_phone_number"] == "+1 555-010-0100"
    assert main["verified_name"] == "Demo Bakery" and main["status"] == "CONNECTED"
    assert main["quality_rating"] == "GREEN" and main["throughput"] == {"level": "STANDARD"}
    assert main["messaging_limit_tier"] == "TIER_2K" and main["name_status"] == "APPROVED"
    assert nums["200000000000003"]["display_phone_number"] == "+44 20 7946 0018"
    r = await client.get(f"/v23.0/{PNID}", headers=AUTH,
                         params={"fields": "verified_name,status"})
    assert r.json() == {"verified_name": "Demo Bakery", "status": "CONNECTED", "id": PNID}
    r = await client.get(f"/v24.0/{WABA}", headers=AUTH)
    assert r.json()["name"] == "Demo Bakery"


async def test_create_number_and_registration_flow(sim, client):
    r = await client.post(f"/v23.0/{WABA}/phone_numbers", headers=AUTH,
                          json={"cc": "1", "phone_number": "4165550199",
                                "verified_name": "Demo Bakery Toronto"})
    new_id = r.json()["id"]
    r = await client.post(f"/v23.0/{WABA}/phone_numbers", headers=AUTH,
                          data={"country_code": "1", "phone_number": "4165550199",
                                "verified_name": "Demo Bakery Toronto"})
    assert r.json()["id"] == new_id  # same number, same WABA -> same id
    info = (await client.get(f"/v23.0/{new_id}", headers=AUTH)).json()
    assert info["code_verification_status"] == "NOT_VERIFIED"
    assert info["display_phone_number"] == "+1 416-555-0199"

    # register before verifying is refused
    r = await client.post(f"/v23.0/{NEW_PNID}/register", headers=AUTH,
                          json={"messaging_product": "whatsapp", "pin": "654321"})
    assert r.json()["error"]["code"] == 133006
    r = await client.post(f"/v23.0/{NEW_PNID}/request_code", headers=AUTH,
                          params={"code_method": "SMS", "language": "en_US"})
    assert r.json() == {"success": True}
    code = (await client.get("/control/codes")).json()["codes"][NEW_PNID]["code"]
    assert len(code) == 6
    wrong = "000000" if code != "000000" else "111111"
    r = await client.post(f"/v23.0/{NEW_PNID}/verify_code", headers=AUTH, json={"code": wrong})
    assert r.json()["error"]["code"] == 136025
    r = await client.post(f"/v23.0/{NEW_PNID}/verify_code", headers=AUTH,
                          data={"code": code})
    assert r.json() == {"success": True}
    r = await client.post(f"/v23.0/{NEW_PNID}/register", headers=AUTH,
                          json={"messaging_product": "whatsapp", "pin": "12345"})
    assert r.json()["error"]["code"] == 100
    r = await client.post(f"/v23.0/{NEW_PNID}/register", headers=AUTH,
                          json={"messaging_product": "whatsapp", "pin": "654321"})
    assert r.json() == {"success": True}
    info = (await client.get(f"/v23.0/{NEW_PNID}", headers=AUTH)).json()
    assert info["status"] == "CONNECTED" and info["code_verification_status"] == "VERIFIED"
    await client.post("/control/customers/15550100177/messages", json={"type": "text",
                                                                       "text": "hi"})
    r = await client.post(f"/v23.0/{NEW_PNID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": "15550100177", "text": {"body": "hello"}})
    assert r.status_code == 200, r.text
    # wrong PIN on re-register, then the 10-per-72h limit
    r = await client.post(f"/v23.0/{NEW_PNID}/register", headers=AUTH,
                          json={"messaging_product": "whatsapp", "pin": "000000"})
    assert r.json()["error"]["code"] == 133005
    codes = []
    for _ in range(9):
        r = await client.post(f"/v23.0/{NEW_PNID}/deregister", headers=AUTH)
        codes.append(r.json().get("error", {}).get("code"))
    assert codes[:7] == [None] * 7 and codes[7:] == [133016, 133016]


async def test_verification_code_expires(sim, client):
    await client.post(f"/v23.0/{NEW_PNID}/request_code", headers=AUTH,
                      json={"code_method": "VOICE", "language": "en"})
    code = (await client.get(f"/control/phone_numbers/{NEW_PNID}/verification_code")).json()[
        "code"]
    await client.post("/control/clock", json={"advance_seconds": 601})
    r = await client.post(f"/v23.0/{NEW_PNID}/verify_code", headers=AUTH, json={"code": code})
    err = r.json()["error"]
    assert err["code"] == 136025 and "expired" in err["error_data"]["details"]
    r = await client.post(f"/v23.0/{NEW_PNID}/request_code", headers=AUTH,
                          json={"code_method": "FAX", "language": "en"})
    assert r.json()["error"]["code"] == 100


async def test_seed_and_reset(sim, client):
    seed = (await client.get("/control/seed")).json()
    wabas = {w["id"]: w for w in seed["wabas"]}
    assert wabas[WABA]["name"] == "Demo Bakery" and "100000000000002" in wabas
    # Credentials are shared through the config, never handed out by a control response.
    for secret in (sim.config.app_secret, sim.config.verify_token, "sim-token-demo-bakery",
                   "sim-token-harbor-tools"):
        assert secret not in json.dumps(seed)
    await client.post(f"/v23.0/{WABA}/phone_numbers", headers=AUTH,
                      json={"cc": "1", "phone_number": "4165550111", "verified_name": "X"})
    await client.post("/control/customers/15550100142/messages", json={"type": "text",
                                                                       "text": "hi"})
    await client.put("/control/faults", json={"latency_ms": 5})
    assert len((await client.get(f"/v23.0/{WABA}/phone_numbers", headers=AUTH)).json()[
        "data"]) == 4
    assert (await client.post("/control/reset")).json() == {"ok": True}
    assert len((await client.get(f"/v23.0/{WABA}/phone_numbers", headers=AUTH)).json()[
        "data"]) == 3
    assert (await client.get("/control/faults")).json()["latency_ms"] == 0
    assert (await client.get("/control/customers/15550100142")).json()["messages"] == []
    assert (await client.get("/control/seed")).json() == seed


async def test_customer_view_and_control_validation(sim, client):
    r = await client.put("/control/customers/+1 416 555 0177",
                         json={"profile_name": "Chloé Martin", "read_receipts": False})
    assert r.json()["wa_id"] == "14165550177" and r.json()["region"] == "CA"
    r = await client.post("/control/customers/14165550177/messages", content=b"{oops",
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 100
    r = await client.post("/control/customers/14165550177/messages", json={"type": "fax"})
    assert r.status_code == 400
    r = await client.post("/control/customers/14165550177/messages",
                          json={"type": "image", "media_base64": "iVBORw0KGgo=",
                                "mime_type": "image/png"})
    assert r.json()["media_id"]
    customers = (await client.get("/control/customers")).json()["customers"]
    assert any(c["profile_name"] == "Chloé Martin" for c in customers)


async def test_verify_webhook_handshake(sim, client):
    r = await client.post("/control/verify_webhook", json={})
    report = r.json()
    assert report["ok"] is True and report["body"] == report["challenge"]
    assert report["rejects_wrong_token"] is True


async def test_phone_page_is_accessible(sim, client):
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for label in ('aria-label="Customer"', 'aria-label="Message"', ">Send<",
                  'aria-label="Business number"', ">Mark read<", 'aria-label="Attach file"'):
        assert label in r.text


async def test_state_survives_restart(tmp_path, receiver):
    path = tmp_path / "sim.json"
    sim1 = create_simulator(fast_config(receiver, state_path=str(path)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim1.app),
                                 base_url="http://sim") as c:
        await c.post("/control/customers/15550100142/messages", json={"type": "image"})
        await c.post(f"/v23.0/{WABA}/phone_numbers", headers=AUTH,
                     json={"cc": "1", "phone_number": "4165550122", "verified_name": "Y"})
    await sim1.stop()
    assert path.exists()
    sim2 = create_simulator(fast_config(receiver, state_path=str(path)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim2.app),
                                 base_url="http://sim") as c:
        view = (await c.get("/control/customers/15550100142")).json()
        assert view["messages"][0]["type"] == "image"
        mid = view["messages"][0]["media"]["id"]
        info = (await c.get(f"/v23.0/{mid}", headers=AUTH)).json()
        assert info["mime_type"] == "image/jpeg"
        nums = (await c.get(f"/v23.0/{WABA}/phone_numbers", headers=AUTH)).json()["data"]
        assert len(nums) == 4
        chat = view["chats"][0]
        assert chat["window_open"] is True
    await sim2.stop()


async def test_mounted_under_simulator_prefix(receiver):
    from fastapi import FastAPI

    receiver.requests.clear()
    receiver.status = 200
    sim = create_simulator(fast_config(receiver, public_base_url=None))
    host = FastAPI()
    host.mount("/simulator", sim.app)  # the sub-app's lifespan does not run: lazy start
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host),
                                 base_url="http://app.test") as c:
        r = await c.post("/simulator/control/customers/15550100142/messages",
                         json={"type": "image"})
        mid = r.json()["media_id"]
        assert sim.dispatcher.running
        info = (await c.get(f"/simulator/v23.0/{mid}", headers=AUTH)).json()
        assert info["url"].startswith("http://app.test/simulator/whatsapp_business/attachments/")
        r = await c.get(info["url"], headers=AUTH)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        page = await c.get(
            "/simulator/v23.0/100000000000001/message_templates", headers=AUTH,
            params={"limit": 2})
        assert page.json()["paging"]["next"].startswith(
            "http://app.test/simulator/v23.0/100000000000001/message_templates?")
        html = (await c.get("/simulator/")).text
        assert 'const BASE = "/simulator"' in html
        await wait_for(lambda: receiver.messages())
    await sim.stop()
