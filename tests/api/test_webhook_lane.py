"""WebhookLane: the signed POST /webhooks/whatsapp answered on raw ASGI in front of FastAPI.
What Meta (and an operator reading the journal) sees: 200 only once the exact body is stored,
with that row's id; 413 for an over-size body and 500 when the journal fails, storing nothing;
every other request still reaches the FastAPI routes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.api import build_api
from ctreflex.inbound import journal, lane
from ctreflex.models import WebhookEvent
from ctreflex.settings import get_settings
from ctreflex.whatsapp import sign

PATH = "/webhooks/whatsapp"


def signed(body: bytes) -> dict[str, str]:
    secret = get_settings().app_secret.get_secret_value()
    return {"X-Hub-Signature-256": sign(secret, body), "Content-Type": "application/json"}


def status_body(tag: str) -> bytes:
    """A status webhook for a wamid nobody sent: journaled, then left for a later retry."""
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100100",
                         "phone_number_id": "200000000000001"},
            "statuses": [{"id": f"wamid.LANE{tag}", "status": "delivered",
                          "timestamp": "1767261600", "recipient_id": "12125550142"}],
        }}]}],
    }, separators=(",", ":")).encode()


def events() -> dict[int, WebhookEvent]:
    with Session(db.get_engine()) as s:
        return {e.id: e for e in s.exec(select(WebhookEvent)).all()}


# ------------------------------------------------------------------ refused before the journal


@pytest.fixture
def client(seeded):
    """The API app in process (no server, no processor): enough for what never reaches it."""
    with TestClient(build_api()) as c:
        yield c


def test_over_size_body_gets_413_and_stores_nothing(client):
    before = events()
    big = b'{"object":"whatsapp_business_account","pad":"' + b"x" * lane.MAX_BODY_BYTES + b'"}'
    r = client.post(PATH, content=big, headers=signed(big))  # even with a good signature
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"
    assert str(lane.MAX_BODY_BYTES) in r.json()["error"]
    assert events() == before


def test_over_size_streamed_body_gets_413_and_stores_nothing(client):
    """No Content-Length (chunked): the lane counts as it reads."""
    before = events()
    chunk = b"x" * (256 * 1024)
    chunks = lane.MAX_BODY_BYTES // len(chunk) + 2

    def stream():
        yield b'{"pad":"'
        for _ in range(chunks):
            yield chunk
        yield b'"}'

    r = client.post(PATH, content=stream(), headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert r.status_code == 413
    assert events() == before


def test_body_of_exactly_the_limit_is_accepted(client):
    body = b'{"pad":"' + b"x" * (lane.MAX_BODY_BYTES - 10) + b'"}'
    assert len(body) == lane.MAX_BODY_BYTES
    r = client.post(PATH, content=body, headers=signed(body))
    assert r.status_code == 200, r.text
    row = events()[r.json()["event_id"]]
    assert row.body_sha256 == hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------ served for real


def test_good_signed_body_gets_200_with_the_id_of_its_stored_row(live_api):
    body = status_body(uuid.uuid4().hex)
    r = live_api.http.post(PATH, content=body, headers=signed(body))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    answer = r.json()
    assert answer["ok"] is True and isinstance(answer["event_id"], int)
    row = events()[answer["event_id"]]  # committed when the 200 was sent: no waiting here
    assert row.body.encode() == body
    assert row.body_sha256 == hashlib.sha256(body).hexdigest()
    assert row.provider == "whatsapp"


def test_concurrent_posts_each_get_the_id_of_their_own_body(live_api):
    """Bodies arriving together are journaled in one group commit; each 200 must still name
    the row holding that request's body."""
    bodies = [status_body(f"{uuid.uuid4().hex}-{i}") for i in range(40)]

    async def post_all():
        async with httpx.AsyncClient(base_url=live_api.url, timeout=20) as http:
            return await asyncio.gather(
                *(http.post(PATH, content=b, headers=signed(b)) for b in bodies))

    responses = asyncio.run(post_all())
    assert [r.status_code for r in responses] == [200] * len(bodies)
    ids = [r.json()["event_id"] for r in responses]
    assert len(set(ids)) == len(ids)
    rows = events()
    for event_id, body in zip(ids, bodies, strict=True):
        assert rows[event_id].body.encode() == body


def test_journal_failure_gets_500_stores_nothing_and_the_next_post_works(live_api, monkeypatch):
    before = events()

    def broken(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(journal, "journal_rows", broken)
    body = status_body(uuid.uuid4().hex)
    r = live_api.http.post(PATH, content=body, headers=signed(body))
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]  # says what to do (send again), not a traceback
    assert "disk full" not in r.text
    assert events() == before

    monkeypatch.undo()  # the journal is back: Meta's retry of the same body is taken
    r = live_api.http.post(PATH, content=body, headers=signed(body))
    assert r.status_code == 200
    assert events()[r.json()["event_id"]].body.encode() == body


def test_bad_signature_gets_401_without_touching_the_journal(live_api, monkeypatch):
    calls = []
    monkeypatch.setattr(journal, "journal_rows", lambda *a: calls.append(a) or [])
    body = status_body(uuid.uuid4().hex)
    r = live_api.http.post(PATH, content=body,
                           headers={"X-Hub-Signature-256": sign("not-the-secret", body)})
    assert r.status_code == 401 and r.json()["error"]
    assert calls == []


def test_other_methods_and_paths_still_reach_fastapi(live_api):
    verify = get_settings().verify_token.get_secret_value()
    ok = live_api.http.get(PATH, params={
        "hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert live_api.http.get(PATH, params={
        "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"}
    ).status_code == 403
    before = events()
    # a method the lane does not take gets FastAPI's answer for the GET-only route
    assert live_api.http.put(PATH, content=b"{}").status_code == 405
    # POSTs elsewhere are FastAPI's: a JSON API route answers as before
    r = live_api.http.post("/api/admin/jobs/usage_rollup/run", json={})
    assert r.status_code == 401 and "detail" in r.json()
    assert live_api.http.post(PATH + "/extra", content=b"{}").status_code == 404
    assert events() == before
