"""/healthz and /readyz (what a load balancer sees), and the per-deployment Redis prefix."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from ctreflex.api import build_api
from ctreflex.inbound.gate import write_gate
from ctreflex.inbound.journal import journal_bodies
from ctreflex.inbound.processor import Processor
from ctreflex.realtime import Broker, redis_key
from ctreflex.services import jobs
from ctreflex.settings import get_settings, reset_settings_cache
from tests.unit.test_processor_child import inbound_text

REDIS = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_timeout=1).ping()
        return True
    except Exception:
        return False


@pytest.fixture
def client(seeded):
    return TestClient(build_api(), raise_server_exceptions=False)


def test_healthz_answers_without_the_database(client, monkeypatch):
    from ctreflex import db

    def down():
        raise RuntimeError("no database")

    monkeypatch.setattr(db, "session_scope", down)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "alive"}
    assert r.headers["cache-control"] == "no-store"


def test_readyz_reports_the_backlog_and_the_lease_holders(client, session):
    with write_gate.journal():
        journal_bodies(provider="whatsapp", bodies=[inbound_text("wamid.R1", "a"),
                                                           inbound_text("wamid.R2", "b")])
    jobs.acquire(session=session, name=jobs.SCHEDULER_LEASE, holder="web-3:4242:abcd", ttl=30)
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert checks["processor"]["waiting_events"] == 2
    assert checks["processor"]["oldest_waiting_s"] >= 0
    assert checks["processor"]["lease"] is None  # no processor leads: reported
    assert checks["scheduler"]["lease"] == {"holder": "web-3:4242", "this_process": False}


def test_readyz_is_503_when_this_workers_processor_is_dead(client, monkeypatch):
    monkeypatch.setattr(Processor, "started", property(lambda self: True))
    monkeypatch.setattr(Processor, "running", property(lambda self: False))
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["processor"]["ok"] is False


def test_readyz_is_503_and_shows_no_url_or_password_when_redis_or_the_database_fail(
    client, monkeypatch, db_url
):
    monkeypatch.setenv("REFLEX_REDIS_URL", "redis://:hunter2secret@127.0.0.1:1/0")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["redis"]["ok"] is False
    assert "hunter2secret" not in r.text and "redis://" not in r.text and "127.0.0.1" not in r.text
    monkeypatch.delenv("REFLEX_REDIS_URL")

    from ctreflex import db

    monkeypatch.setenv("CTREFLEX_DATABASE_URL",
                       "postgresql+psycopg://app:pgsecret42@127.0.0.1:1/nowhere")
    reset_settings_cache()
    db.reset_engine()
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"]["ok"] is False
    assert "pgsecret42" not in r.text and "postgresql" not in r.text and "nowhere" not in r.text


def test_redis_prefix_defaults_to_the_database_name_and_can_be_set(monkeypatch):
    monkeypatch.setenv("CTREFLEX_DATABASE_URL", "postgresql+psycopg://u:p@db/shop_two")
    monkeypatch.delenv("CTREFLEX_REDIS_PREFIX", raising=False)
    reset_settings_cache()
    try:
        assert redis_key("account", 7) == "ctreflex:shop_two:account:7"
        monkeypatch.setenv("CTREFLEX_REDIS_PREFIX", "tenant-a:")
        reset_settings_cache()
        assert get_settings().redis_namespace == "tenant-a"
        assert redis_key("account", 7) == "tenant-a:account:7"
    finally:
        monkeypatch.undo()
        reset_settings_cache()


@pytest.mark.skipif(not redis_available(), reason="Redis at 127.0.0.1:6379 is not reachable")
def test_two_deployments_on_one_redis_never_hear_each_other(monkeypatch):
    """Each Broker is one deployment's worker; the prefix comes from its settings."""
    monkeypatch.setenv("REFLEX_REDIS_URL", REDIS)

    async def main():
        got: dict[str, list] = {}

        async def deployment(prefix: str):
            monkeypatch.setenv("CTREFLEX_REDIS_PREFIX", prefix)
            reset_settings_cache()
            broker = Broker()
            sub_cm = broker.subscribe(7)
            sub = await sub_cm.__aenter__()
            return broker, sub, sub_cm

        a, sub_a, cm_a = await deployment("test-dep-a*")
        b, sub_b, cm_b = await deployment("test-dep-a")  # a glob of a's name must not match
        await asyncio.sleep(0.3)  # both subscribed
        monkeypatch.setenv("CTREFLEX_REDIS_PREFIX", "test-dep-a")
        reset_settings_cache()
        await b.publish(7, {"type": "message", "n": 1})
        got["b"] = await sub_b.next_batch(2.0)
        got["a"] = await sub_a.next_batch(0.5)
        for cm in (cm_a, cm_b):
            await cm.__aexit__(None, None, None)
        for broker in (a, b):
            broker._redis_task.cancel()
            await broker._redis.aclose()
        return got

    try:
        got = asyncio.run(main())
    finally:
        reset_settings_cache()
    assert [e["n"] for e in got["b"]] == [1]
    assert got["a"] == []
    assert json.dumps(got["b"][0])  # a plain event
