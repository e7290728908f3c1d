"""/api/v1 over HTTP (in-process): keys, scopes, rate limit, problem+json, every read
endpoint, contacts create/update, and other accounts' ids answered 404."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import ApiKey, Contact, OptOutEvent
from tests.api_v1.conftest import (
    BAKERY,
    HARBOR,
    account_id,
    auth,
    contact,
    conversation_of,
    make_key,
)

MARIA = "+12125550142"  # window open (0.3 h ago), US
PRIYA = "+919812345678"  # window closed (72 h)
CARLOS = "+525512345678"  # replied STOP by SMS


def problem(r, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


# ------------------------------------------------------------------------------ auth


def test_no_key_bad_key_and_cookie_alone_are_401(client, seeded):
    from ctreflex import routes
    from ctreflex.services import auth as auth_svc

    problem(client.get("/api/v1/contacts"), 401, "Authorization")
    r = client.get("/api/v1/contacts", headers=auth("ctk_not-a-real-key"))
    problem(r, 401, "Authorization")
    assert "Bearer" in r.headers["www-authenticate"]
    token = auth_svc.login(session=seeded, email="admin@demo.test", password="demo-admin-1")
    client.cookies.set(routes.SESSION_COOKIE, token)
    problem(client.get("/api/v1/contacts"), 401)  # a browser session never opens the API


def test_key_is_stored_hashed_and_last_use_recorded(client, seeded):
    from ctreflex.services import api_keys

    new = api_keys.create_key(
        session=seeded,
        account_id=account_id(BAKERY),
        name="Shop",
        scopes=["read"],
        created_by_id=None,
    )
    with Session(db.get_engine()) as s:
        row = s.get(ApiKey, new.id)
        assert row.key_hash != new.key and new.key not in (row.prefix + row.key_hash)
        assert row.prefix == new.key[:12] and row.last_used_at is None
    assert client.get("/api/v1/contacts", headers=auth(new.key)).status_code == 200
    with Session(db.get_engine()) as s:
        assert s.get(ApiKey, new.id).last_used_at is not None


def test_revoked_key_stops_at_once(client, seeded):
    from ctreflex.services import api_keys

    new = api_keys.create_key(
        session=seeded,
        account_id=account_id(BAKERY),
        name="CRM",
        scopes=["read"],
        created_by_id=None,
    )
    assert client.get("/api/v1/contacts", headers=auth(new.key)).status_code == 200
    api_keys.revoke_key(session=seeded, account_id=account_id(BAKERY), key_id=new.id)
    problem(client.get("/api/v1/contacts", headers=auth(new.key)), 401)


def test_another_accounts_admin_cannot_revoke_a_key(seeded):
    import pytest

    from ctreflex.services import api_keys

    new = api_keys.create_key(
        session=seeded,
        account_id=account_id(BAKERY),
        name="CRM",
        scopes=["read"],
        created_by_id=None,
    )
    with pytest.raises(api_keys.ApiKeyError):
        api_keys.revoke_key(session=seeded, account_id=account_id(HARBOR), key_id=new.id)
    assert not api_keys.list_keys(session=seeded, account_id=account_id(BAKERY))[0].revoked


def test_wrong_scope_is_403_naming_the_scope(client, seeded):
    read_only = make_key(scopes=["read"])
    send_only = make_key(scopes=["send"])
    body = problem(
        client.post("/api/v1/contacts", json={"phone": "+15550109999"}, headers=auth(read_only)),
        403,
        "scope",
    )
    assert "'send'" in body["detail"]
    problem(client.get("/api/v1/contacts", headers=auth(send_only)), 403, "scope")
    problem(client.get("/api/v1/numbers", headers=auth(read_only)), 403, "scope")
    problem(client.get("/api/v1/usage", headers=auth(read_only)), 403, "scope")
    r = client.post(
        "/api/v1/messages",
        json={"conversation_id": conversation_of(MARIA), "type": "text", "text": "hi"},
        headers=auth(read_only),
    )
    problem(r, 403, "scope")


def test_rate_limit_per_key_429_with_retry_after(client, seeded, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_API_RATE_LIMIT", "3")
    reset_settings_cache()
    k1, k2 = make_key(), make_key()
    for _ in range(3):
        assert client.get("/api/v1/contacts", headers=auth(k1)).status_code == 200
    r = client.get("/api/v1/contacts", headers=auth(k1))
    problem(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert client.get("/api/v1/contacts", headers=auth(k2)).status_code == 200  # per key


# ------------------------------------------------------------------------------ reads


def test_contacts_list_search_and_paging(client, key):
    r = client.get("/api/v1/contacts", params={"limit": 5}, headers=auth(key))
    assert r.status_code == 200
    page = r.json()
    assert len(page["data"]) == 5 and page["next_cursor"]
    r2 = client.get(
        "/api/v1/contacts", params={"limit": 50, "after": page["next_cursor"]}, headers=auth(key)
    ).json()
    assert len(r2["data"]) == 7 and r2["next_cursor"] is None  # 12 seeded contacts
    assert {c["id"] for c in page["data"]}.isdisjoint({c["id"] for c in r2["data"]})
    found = client.get("/api/v1/contacts", params={"search": "maria"}, headers=auth(key)).json()
    assert [c["phone"] for c in found["data"]] == [MARIA]
    assert found["data"][0]["conversation_id"] == conversation_of(MARIA)
    by_digits = client.get("/api/v1/contacts", params={"search": "5550142"}, headers=auth(key))
    assert [c["name"] for c in by_digits.json()["data"]] == ["Maria Lopez"]


def test_contact_get_and_opt_out_state(client, key):
    carlos = contact(CARLOS)
    r = client.get(f"/api/v1/contacts/{carlos.id}", headers=auth(key))
    assert r.status_code == 200
    assert r.json()["opt_out"] == {"sms": True, "marketing": True}
    consent = client.get(f"/api/v1/contacts/{carlos.id}/opt-out", headers=auth(key)).json()
    assert consent["sms_opted_out"] is True
    assert consent["history"][0]["source"] == 'SMS keyword "STOP"'


def test_create_contact_validates_and_is_idempotent_by_phone(client, key):
    bad = client.post("/api/v1/contacts", json={"phone": "12"}, headers=auth(key))
    problem(bad, 422, "phone")
    missing = client.post("/api/v1/contacts", json={}, headers=auth(key))
    problem(missing, 422, "phone")
    extra = client.post(
        "/api/v1/contacts", json={"phone": "+15550109999", "nmae": "x"}, headers=auth(key)
    )
    problem(extra, 422, "nmae")
    r = client.post(
        "/api/v1/contacts",
        json={"phone": "+1 (555) 010-9999", "name": "Ann Booker"},
        headers=auth(key),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["phone"] == "+15550109999" and created["conversation_id"]
    again = client.post("/api/v1/contacts", json={"phone": "+15550109999"}, headers=auth(key))
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    conv = client.get(f"/api/v1/conversations/{created['conversation_id']}", headers=auth(key))
    assert conv.json()["window"]["state"] == "none"


def test_update_contact_name_and_marketing_opt_out_goes_to_the_ledger(client, key):
    dev = contact("+13125550177")
    r = client.patch(
        f"/api/v1/contacts/{dev.id}",
        json={"name": "Dev P.", "marketing_opted_out": True},
        headers=auth(key),
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Dev P." and r.json()["opt_out"]["marketing"] is True
    with Session(db.get_engine()) as s:
        rows = s.exec(select(OptOutEvent).where(OptOutEvent.contact_id == dev.id)).all()
        assert [(e.scope, e.action) for e in rows] == [("marketing", "out")]
    back_in = client.patch(
        f"/api/v1/contacts/{dev.id}", json={"marketing_opted_out": False}, headers=auth(key)
    )
    problem(back_in, 422, "marketing_opted_out")
    too_long = client.patch(
        f"/api/v1/contacts/{dev.id}", json={"name": "x" * 121}, headers=auth(key)
    )
    problem(too_long, 422, "name")


def test_conversations_use_the_inbox_filters(client, key):
    def ids(**params):
        r = client.get("/api/v1/conversations", params=params, headers=auth(key))
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["data"]]

    everything = ids()
    assert len(everything) == 12
    opened, closed = ids(filter="open"), ids(filter="closed")
    assert conversation_of(MARIA) in opened and conversation_of(PRIYA) in closed
    assert set(opened).isdisjoint(closed) and len(opened) + len(closed) == 12
    assert ids(q="sourdough") == [conversation_of(MARIA)]
    assert ids(sort="closing")[0] == conversation_of("+14165550123")  # 23.6 h ago: soonest
    problem(
        client.get("/api/v1/conversations", params={"filter": "nope"}, headers=auth(key)),
        422,
        "filter",
    )
    one = client.get(f"/api/v1/conversations/{conversation_of(MARIA)}", headers=auth(key)).json()
    assert one["contact"]["phone"] == MARIA and one["window"]["state"] == "open"


def test_messages_cursor_paging(client, key, seeded):
    from ctreflex.models import Message, utc_now

    conv_id = conversation_of(MARIA)
    base = utc_now() - dt.timedelta(minutes=5)
    for i in range(7):
        seeded.add(
            Message(
                account_id=account_id(BAKERY),
                conversation_id=conv_id,
                direction="outbound",
                channel="whatsapp",
                kind="text",
                body=f"note {i}",
                status="read",
                created_at=base,
            )
        )
    seeded.commit()
    seen, cursor = [], ""
    while True:
        r = client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"limit": 3, "cursor": cursor},
            headers=auth(key),
        )
        assert r.status_code == 200, r.text
        seen += [m["id"] for m in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 8 and seen == sorted(seen, reverse=True)  # the seeded inbound + 7
    problem(
        client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"cursor": "garbage"},
            headers=auth(key),
        ),
        422,
        "cursor",
    )
    one = client.get(f"/api/v1/messages/{seen[-1]}", headers=auth(key)).json()
    assert one["direction"] == "inbound" and one["status"] == "received"


def test_templates_numbers_usage_and_csv(client, key, templates):
    t = client.get("/api/v1/templates", headers=auth(key))
    assert t.status_code == 200
    tpls = t.json()["data"]
    assert tpls and all("status" in x and "parameters" in x for x in tpls)
    sendable = client.get("/api/v1/templates", params={"sendable": True}, headers=auth(key))
    assert all(x["status"] == "APPROVED" for x in sendable.json()["data"])
    n = client.get("/api/v1/numbers", headers=auth(key)).json()["data"]
    assert {x["channel"] for x in n} == {"whatsapp", "sms"}
    assert "+15550100300" not in {x["phone"] for x in n}  # Harbor's number
    u = client.get("/api/v1/usage", headers=auth(key))
    assert u.status_code == 200 and u.json()["total_messages"] >= 0
    csv = client.get("/api/v1/usage.csv", headers=auth(key))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("day,") or "," in csv.text.splitlines()[0]
    bad = client.get("/api/v1/usage", params={"start": "2026-13-01"}, headers=auth(key))
    problem(bad, 422, "start")


def test_other_accounts_ids_are_404(client, seeded):
    harbor = make_key(HARBOR)
    maria = contact(MARIA)
    conv_id = conversation_of(MARIA)
    with Session(db.get_engine()) as s:
        from ctreflex.models import Message

        msg_id = s.exec(select(Message.id).where(Message.conversation_id == conv_id)).first()
    for path in (
        f"/api/v1/contacts/{maria.id}",
        f"/api/v1/contacts/{maria.id}/opt-out",
        f"/api/v1/conversations/{conv_id}",
        f"/api/v1/conversations/{conv_id}/messages",
        f"/api/v1/messages/{msg_id}",
    ):
        body = problem(client.get(path, headers=auth(harbor)), 404)
        assert "Maria" not in str(body)
    problem(
        client.patch(f"/api/v1/contacts/{maria.id}", json={"name": "x"}, headers=auth(harbor)), 404
    )
    r = client.post(
        "/api/v1/messages",
        json={"conversation_id": conv_id, "type": "text", "text": "hi"},
        headers=auth(harbor),
    )
    problem(r, 404, "conversation_id")
    assert client.get("/api/v1/contacts", headers=auth(harbor)).json()["data"] == []
    assert client.get("/api/v1/conversations", headers=auth(harbor)).json()["data"] == []
    with Session(db.get_engine()) as s:
        assert s.get(Contact, maria.id).name == "Maria Lopez"


def test_openapi_document_and_docs_page(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert (
        "/api/v1/messages" in doc["paths"] and "bearerAuth" in doc["components"]["securitySchemes"]
    )
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "POST" not in page.text.upper()[:0]
    assert "/api/v1/conversations/{conversation_id}/messages" in page.text
    assert "script" not in page.headers["content-security-policy"]


def test_plan_and_early_access_refuse_whatsapp_sends(client, seeded):
    for account, why in (
        ("Corner Florist", "does not include WhatsApp"),
        ("Northwind Cafe", "early access"),
    ):
        key = make_key(account)
        r = client.post(
            "/api/v1/messages",
            headers=auth(key),
            json={"to": "+15550107777", "type": "text", "text": "Your order is ready"},
        )
        body = problem(r, 422, "number")
        assert why in body["detail"]


def test_rate_limit_counts_in_redis_when_configured(seeded, monkeypatch):
    import redis

    from ctreflex.services import api_keys

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        import pytest

        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    monkeypatch.setenv("CTREFLEX_REDIS_URL", url)
    key_id = 10_000_000 + int(dt.datetime.now().timestamp() * 1000) % 1_000_000
    now = 1_800_000_000.0
    from ctreflex.realtime import redis_key

    redis.Redis.from_url(url).delete(redis_key("apirate", key_id, int(now // 60) * 60))
    seen = [api_keys.hit(session=seeded, key_id=key_id, limit=2, now=now) for _ in range(3)]
    assert [d.allowed for d in seen] == [True, True, False]
    assert seen[-1].retry_after == 60
    from ctreflex.models import ApiRateWindow

    assert seeded.exec(select(ApiRateWindow)).all() == []  # nothing counted in the database


def test_idempotency_conflicts_in_flight_and_after_a_crash(seeded):
    import pytest

    from ctreflex.models import utc_now
    from ctreflex.services import api_keys

    key_id = api_keys.create_key(
        session=seeded,
        account_id=account_id(BAKERY),
        name="Shop",
        scopes=["send"],
        created_by_id=None,
    ).id
    fp = api_keys.fingerprint("POST", "/api/v1/messages", {"text": "a"})
    t0 = utc_now()
    assert (
        api_keys.begin(session=seeded, key_id=key_id, idem_key="k1", fingerprint_=fp, now=t0)
        is None
    )
    with pytest.raises(api_keys.IdempotencyConflict) as running:
        api_keys.begin(session=seeded, key_id=key_id, idem_key="k1", fingerprint_=fp, now=t0)
    assert running.value.status == 409 and "still being answered" in running.value.message
    with pytest.raises(api_keys.IdempotencyConflict) as died:
        api_keys.begin(
            session=seeded,
            key_id=key_id,
            idem_key="k1",
            fingerprint_=fp,
            now=t0 + dt.timedelta(minutes=6),
        )
    assert died.value.status == 409 and "never finished" in died.value.message
    api_keys.finish(session=seeded, key_id=key_id, idem_key="k1", status=201, body={"id": 7})
    assert api_keys.begin(
        session=seeded,
        key_id=key_id,
        idem_key="k1",
        fingerprint_=fp,
        now=t0 + dt.timedelta(hours=1),
    ) == (201, {"id": 7})
    # kept 24 hours: then the key is free again
    assert (
        api_keys.begin(
            session=seeded,
            key_id=key_id,
            idem_key="k1",
            fingerprint_=fp,
            now=t0 + dt.timedelta(hours=25),
        )
        is None
    )


def test_webhook_subscriptions_over_the_api(client, seeded):
    admin, reader = make_key(), make_key(scopes=["read", "send"])
    url = "/api/v1/webhooks"
    problem(client.get(url, headers=auth(reader)), 403, "scope")
    bad = client.post(
        url,
        headers=auth(admin),
        json={"url": "http://hooks.example.com/x", "events": ["message.received"]},
    )
    assert "https://" in problem(bad, 422, "url")["detail"]
    problem(
        client.post(
            url, headers=auth(admin), json={"url": "https://hooks.example.com/x", "events": []}
        ),
        422,
        "events",
    )
    problem(
        client.post(
            url,
            headers=auth(admin),
            json={"url": "https://hooks.example.com/x", "events": ["nope"]},
        ),
        422,
        "events.0",
    )
    r = client.post(
        url,
        headers=auth(admin),
        json={
            "url": "https://hooks.example.com/x",
            "events": ["message.received", "optout.changed"],
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and r.headers["location"].endswith(
        f"/webhooks/{created['id']}"
    )
    listed = client.get(url, headers=auth(admin)).json()["data"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    harbor = make_key(HARBOR)
    problem(client.get(r.headers["location"], headers=auth(harbor)), 404)
    problem(client.delete(r.headers["location"], headers=auth(harbor)), 404)
    assert client.get(r.headers["location"], headers=auth(admin)).json()["events"] == [
        "message.received",
        "optout.changed",
    ]
    assert client.delete(r.headers["location"], headers=auth(admin)).status_code == 204
    assert client.get(url, headers=auth(admin)).json()["data"] == []
    problem(client.delete(r.headers["location"], headers=auth(admin)), 404)
