"""/api/v1 sends over HTTP against the served app and both simulators: text, template with
parameters, media by upload and by URL, WhatsApp and SMS; every refusal the inbox makes
(window closed, US marketing, opted out, file type and size) answered 422/413 naming the field;
Idempotency-Key: the same key and body give the same message and the simulator holds one copy."""

from __future__ import annotations

import datetime as dt
import http.server
import threading

import pytest
from sqlmodel import Session

from ctreflex import db
from ctreflex.models import Conversation, Message, utc_now
from tests.api_v1.conftest import auth, contact, conversation_of, load_templates, make_key

MARIA = "+12125550142"  # US, window open
PRIYA = "+919812345678"  # window closed
CARLOS = "+525512345678"  # replied STOP by SMS
LENA = "+4915112345678"  # window open (9 h), Germany
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 400
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 200


@pytest.fixture
def api(live):
    key = make_key()
    client = live.http
    client.headers.update(auth(key))
    return live


def wa_outbox(live, to: str) -> list[dict]:
    return live.control("GET", "/outbox", params={"to": to.lstrip("+")}).json()["messages"]


def sms_outbox(live, to: str) -> list[dict]:
    r = live.http.request("GET", "/sms-simulator/control/outbox", params={"to": to})
    return r.json()["messages"]


def problem(r, status: int, field: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field, r.json()
    return r.json()


def test_text_inside_the_window_goes_out(api):
    conv = conversation_of(MARIA)
    r = api.http.post(
        "/api/v1/messages",
        json={"conversation_id": conv, "type": "text", "text": "Yes, 5 pm is fine!"},
    )
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["direction"] == "outbound" and msg["status"] in ("accepted", "sent", "delivered")
    assert [
        o["request"]["text"]["body"]
        for o in wa_outbox(api, MARIA)
        if o["request"].get("type") == "text"
    ] == ["Yes, 5 pm is fine!"]
    listed = api.http.get(f"/api/v1/conversations/{conv}/messages").json()["data"]
    assert listed[0]["id"] == msg["id"]


def test_window_closed_refuses_free_text(api):
    r = api.http.post(
        "/api/v1/messages",
        json={"conversation_id": conversation_of(PRIYA), "type": "text", "text": "Hello?"},
    )
    body = problem(r, 422, "window")
    assert "24-hour window is closed" in body["detail"]
    assert wa_outbox(api, PRIYA) == []


def test_template_with_parameters_on_a_closed_window(api):
    load_templates()
    r = api.http.post(
        "/api/v1/messages",
        json={
            "to": PRIYA,
            "type": "template",
            "template": {
                "name": "order_ready",
                "language": "en_US",
                "parameters": {
                    "header.text": "#88",
                    "body.1": "Priya",
                    "body.2": "catering tray",
                    "body.3": "12 Baker Street",
                },
            },
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "template" and r.json()["template"]["name"] == "order_ready"
    assert "catering tray" in r.json()["text"]
    sent = [o for o in wa_outbox(api, PRIYA) if o["request"].get("type") == "template"]
    assert len(sent) == 1
    body = {c["type"]: c for c in sent[0]["request"]["template"]["components"]}["body"]
    assert [p["text"] for p in body["parameters"]] == ["Priya", "catering tray", "12 Baker Street"]


def test_template_missing_parameter_names_it(api):
    load_templates()
    r = api.http.post(
        "/api/v1/messages",
        json={
            "conversation_id": conversation_of(PRIYA),
            "type": "template",
            "template": {
                "name": "order_ready",
                "language": "en_US",
                "parameters": {"header.text": "#1", "body.1": "Priya"},
            },
        },
    )
    assert problem(r, 422, "body.2")


def test_us_marketing_template_refused(api):
    load_templates()
    r = api.http.post(
        "/api/v1/messages",
        json={
            "conversation_id": conversation_of(MARIA),
            "type": "template",
            "template": {
                "name": "weekend_treats_offer",
                "language": "en_US",
                "parameters": {"body.1": "Maria", "body.2": "croissants", "body.3": "20%"},
            },
        },
    )
    body = problem(r, 422, "template")
    assert "United States" in body["detail"] or "US" in body["detail"]
    assert [o for o in wa_outbox(api, MARIA) if o["request"].get("type") == "template"] == []


def test_opted_out_customer_refused_by_sms_and_for_marketing(api):
    load_templates()
    conv = conversation_of(CARLOS)
    with Session(db.get_engine()) as s:  # his WhatsApp window open, so only opt-outs refuse
        c = s.get(Conversation, conv)
        c.window_expires_at = utc_now() + dt.timedelta(hours=2)
        s.add(c)
        s.commit()
    r = api.http.post(
        "/api/v1/messages",
        json={"conversation_id": conv, "channel": "sms", "type": "text", "text": "Hola"},
    )
    body = problem(r, 422, "channel")
    assert "STOP" in body["detail"]
    assert sms_outbox(api, CARLOS) == []
    # a marketing opt-out recorded through the API refuses marketing templates afterwards
    # (note: the template service checks the marketing flag only, not an SMS STOP; the inbox
    # behaves the same, see the report)
    lena = contact_id(LENA)
    assert (
        api.http.patch(f"/api/v1/contacts/{lena}", json={"marketing_opted_out": True}).status_code
        == 200
    )
    r = api.http.post(
        "/api/v1/messages",
        json={
            "conversation_id": conversation_of(LENA),
            "type": "template",
            "template": {
                "name": "weekend_treats_offer",
                "language": "en_US",
                "parameters": {"body.1": "Lena", "body.2": "pretzels", "body.3": "10%"},
            },
        },
    )
    assert "opted out" in problem(r, 422, "template")["detail"]
    assert wa_outbox(api, LENA) == []


def test_sms_text_goes_out_by_sms(api):
    conv = conversation_of(MARIA)
    r = api.http.post(
        "/api/v1/messages",
        json={
            "conversation_id": conv,
            "channel": "sms",
            "type": "text",
            "text": "Your bread is ready",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "sms"
    assert [m["body"] for m in sms_outbox(api, MARIA)] == ["Your bread is ready"]


def test_media_upload_then_send_and_the_file_rules(api):
    conv = conversation_of(MARIA)
    up = api.http.post("/api/v1/media", files={"file": ("cake.jpg", JPEG, "image/jpeg")})
    assert up.status_code == 201, up.text
    assert up.json()["kind"] == "image"
    r = api.http.post(
        "/api/v1/messages",
        json={
            "conversation_id": conv,
            "type": "media",
            "media": {"id": up.json()["id"], "caption": "Your cake"},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["media"]["kind"] == "image" and r.json()["text"] == "Your cake"
    assert [o["request"]["type"] for o in wa_outbox(api, MARIA)] == ["image"]
    audio = api.http.post("/api/v1/media", files={"file": ("voice.mp3", MP3, "audio/mpeg")})
    assert "Audio" in problem(audio, 422, "file")["detail"]
    big = JPEG + b"\x00" * 5_100_000  # a photo over 5 MB
    assert (
        "5 MB"
        in problem(
            api.http.post("/api/v1/media", files={"file": ("big.jpg", big, "image/jpeg")}),
            413,
            "file",
        )["detail"]
    )
    # a declared 200 MB body is refused before a byte of it is read
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(api.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/media HTTP/1.1\r\nHost: x\r\n"
            + b"Authorization: "
            + api.http.headers["authorization"].encode()
            + b"\r\n"
            + b"Content-Type: multipart/form-data; boundary=zz\r\n"
            + b"Content-Length: 200000000\r\n\r\n"
        )
        raw = b""
        while b'"errors"' not in raw:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        head = raw.decode("latin-1")
    assert head.startswith("HTTP/1.1 413") and '"field":"file"' in head


def test_media_upload_without_a_length_is_cut_at_the_limit(api, monkeypatch):
    from ctreflex.api.v1 import messages

    monkeypatch.setattr(messages, "UPLOAD_REQUEST_MAX", 200_000)
    boundary = b"zzBOUNDARYzz"

    def body():  # chunked: no Content-Length to refuse up front
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        yield b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
        for _ in range(40):
            yield b"0" * 10_000
        yield b"\r\n--" + boundary + b"--\r\n"

    r = api.http.post(
        "/api/v1/media",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=" + boundary.decode()},
    )
    problem(r, 413, "file")


def test_media_by_url(api, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    class Files(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            self.wfile.write(JPEG)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/cake.jpg"
    conv = conversation_of(MARIA)
    try:
        r = api.http.post(
            "/api/v1/messages",
            json={"conversation_id": conv, "type": "media", "media": {"url": url}},
        )
        assert "https://" in problem(r, 422, "media.url")["detail"]  # not allowed by default
        monkeypatch.setenv("CTREFLEX_WEBHOOKS_ALLOW_LOCAL", "true")
        reset_settings_cache()
        r = api.http.post(
            "/api/v1/messages",
            json={"conversation_id": conv, "type": "media", "media": {"url": url}},
        )
        assert r.status_code == 201, r.text
        assert r.json()["media"]["filename"] == "cake.jpg"
    finally:
        server.shutdown()
    r = api.http.post(
        "/api/v1/messages",
        json={"conversation_id": conv, "type": "media", "media": {"url": "https://10.0.0.1/x.jpg"}},
    )
    assert "public" in problem(r, 422, "media.url")["detail"]


def test_idempotent_send_same_message_once(api):
    conv = conversation_of(MARIA)
    body = {"conversation_id": conv, "type": "text", "text": "Order #7 confirmed"}
    headers = {"Idempotency-Key": "order-7-confirmation"}
    first = api.http.post("/api/v1/messages", json=body, headers=headers)
    again = api.http.post("/api/v1/messages", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    texts = [
        o["request"]["text"]["body"]
        for o in wa_outbox(api, MARIA)
        if o["request"].get("type") == "text"
    ]
    assert texts == ["Order #7 confirmed"]  # one copy on the customer's phone
    with Session(db.get_engine()) as s:
        from sqlmodel import select

        assert len(s.exec(select(Message).where(Message.body == "Order #7 confirmed")).all()) == 1
    other = api.http.post(
        "/api/v1/messages", json={**body, "text": "Order #8 confirmed"}, headers=headers
    )
    problem(other, 422, "Idempotency-Key")
    # another key of the same account may use the same string for its own request
    k2 = make_key()
    third = api.http.post("/api/v1/messages", json=body, headers={**headers, **auth(k2)})
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


def test_idempotent_refusal_is_replayed_too(api):
    body = {"conversation_id": conversation_of(PRIYA), "type": "text", "text": "hi"}
    headers = {"Idempotency-Key": "k-closed"}
    a = api.http.post("/api/v1/messages", json=body, headers=headers)
    b = api.http.post("/api/v1/messages", json=body, headers=headers)
    assert a.status_code == b.status_code == 422 and a.json()["detail"] == b.json()["detail"]
    assert b.headers["content-type"].startswith("application/problem+json")


def contact_id(e164: str) -> int:
    return contact(e164).id
