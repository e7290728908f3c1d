"""Hostile webhooks against the real route (signed, over HTTP, the processor running inline):
no body makes the route answer 5xx, none stops processing (a plain message posted after each
is stored within seconds), nothing valid next to a bad part is lost; a failing event is
retried, parked as dead, and Retry / Discard work from the admin route; /api/admin/events
never answers 500. Plus a bounded Hypothesis run of signed bodies built around the real
webhook shape."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from ctreflex import db, routes
from ctreflex.inbound import dispatch, journal, lifecycle, whatsapp
from ctreflex.models import Message, WebhookEvent
from ctreflex.services import auth, seed, users
from ctreflex.settings import get_settings
from ctreflex.whatsapp import sign
from ctreflex.whatsapp.webhooks import MAX_BODY_BYTES
from tests.api.conftest import wait_for

MARIA = "12125550142"  # a seeded Demo Bakery customer (the fast path's plain case)
OPERATOR = ("operator@ctt-platform.test", "op-7f3a-platform-key")
STALL_SECONDS = 5  # a plain message after a poison body is stored within this
_ids = itertools.count(1)


def wamid(tag: str) -> str:
    return f"wamid.hostile.{tag}.{next(_ids)}.{time.monotonic_ns()}"


def text_message(mid: str, body: str = "hello", frm: str = MARIA) -> dict:
    return {"from": frm, "id": mid, "timestamp": str(int(time.time())), "type": "text",
            "text": {"body": body}}


def change(messages=(), statuses=(), *, pnid: str = seed.DEMO_PNID, contacts=None) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100100", "phone_number_id": pnid},
        "contacts": contacts if contacts is not None else [
            {"profile": {"name": "Maria Lopez"}, "wa_id": MARIA}],
        "messages": list(messages),
    }
    if statuses:
        value["statuses"] = list(statuses)
    return {"field": "messages", "value": value}


def envelope(*changes: dict, waba: str = seed.DEMO_WABA, entries: list | None = None) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": entries if entries is not None else [{"id": waba, "changes": list(changes)}]}


def dumps(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Hooks:
    """Signed posts to /webhooks/whatsapp and looks at the rows behind them."""

    def __init__(self, api):
        self.api = api
        self.secret = get_settings().app_secret.get_secret_value()

    def post(self, body: bytes) -> httpx.Response:
        return self.api.http.post("/webhooks/whatsapp", content=body, headers={
            "X-Hub-Signature-256": sign(self.secret, body), "Content-Type": "application/json"})

    def send_plain(self, tag: str) -> str:
        mid = wamid(tag)
        r = self.post(dumps(envelope(change([text_message(mid, f"plain after {tag}")]))))
        assert r.status_code == 200, r.text
        return mid

    def assert_flows(self, tag: str) -> None:
        """No stall: a plain message posted now is stored within STALL_SECONDS."""
        mid = self.send_plain(tag)
        try:
            wait_for(lambda: message(mid), timeout=STALL_SECONDS)
        except AssertionError:
            raise AssertionError(f"processing stalled after the {tag!r} body") from None


def message(mid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == mid)).first()


def event(event_id: int) -> WebhookEvent:
    with Session(db.get_engine()) as s:
        return s.get(WebhookEvent, event_id)


def settled(event_id: int, timeout: float = STALL_SECONDS) -> WebhookEvent:
    """The event once processed (no longer pending)."""
    return wait_for(lambda: (e := event(event_id)).state != "pending" and e, timeout=timeout)


def nudge() -> bool:
    """Wake the inline processor now (it also wakes every second): retries due in 0.1 s."""
    from ctreflex.inbound.processor import processor

    processor.notify()
    return True


def login_client(api, session, email: str, password: str) -> httpx.Client:
    token = auth.login(session=session, email=email, password=password)
    return httpx.Client(base_url=api.url, timeout=10, cookies={routes.SESSION_COOKIE: token})


@pytest.fixture
def hooks(monkeypatch, db_url, request) -> Hooks:
    monkeypatch.setenv("CTREFLEX_PROCESSOR", "inline")  # the child process is not under test
    return Hooks(request.getfixturevalue("live_api"))


@pytest.fixture
def operator(seeded):
    users.add_operator(session=seeded, email=OPERATOR[0], password=OPERATOR[1])
    seeded.commit()
    return OPERATOR


# ------------------------------------------------------------------------- the poison bodies


def _deep_object() -> bytes:
    inner = '{"a":' * 5000 + "1" + "}" * 5000
    return ('{"object":"whatsapp_business_account","entry":[' + inner + "]}").encode()


POISON = {  # name: (body, expected status, expected state or None when not journaled)
    "deep arrays": (b"[" * 1000 + b"]" * 1000, 200, "rejected"),
    "deep object": (_deep_object(), 200, "rejected"),
    "unbalanced deep": (b"[" * 3000 + b"}", 200, "rejected"),
    "NaN entry": (b'{"entry":NaN}', 200, "rejected"),
    "Infinity timestamp": (dumps(envelope(change([text_message("wamid.inf")])))
                           .replace(b'"timestamp":"', b'"timestamp":Infinity,"x":"'), 200,
                           "rejected"),
    "float overflow": (b'{"object":"w","entry":[],"x":1e999}', 200, "rejected"),
    "huge integer": (b'{"object":"w","entry":[],"x":' + b"9" * 5000 + b"}", 200, "rejected"),
    "not UTF-8": (b"\xff\xfe{\x00}", 200, "rejected"),
    "empty": (b"", 200, "rejected"),
    "top-level array": (b"[1,2,3]", 200, "rejected"),
    "entry not a list": (b'{"object":"w","entry":{"id":1}}', 200, "rejected"),
    "over 3 MB": (b'{"pad":"' + b"x" * MAX_BODY_BYTES + b'"}', 413, None),
    "almost 3 MB of text": (dumps(envelope(change([text_message("wamid.big", "y" * (
        MAX_BODY_BYTES - 1000))]))), 200, "done"),
    "1,200 messages": (dumps(envelope(change([text_message(f"wamid.many.{i}") for i in range(
        1200)]))), 200, "rejected"),
}


def test_no_poison_body_answers_5xx_or_stops_processing(hooks, seeded, operator):
    posted: dict[str, int] = {}
    for name, (body, status, _) in POISON.items():
        r = hooks.post(body)
        assert r.status_code == status, (name, r.status_code, r.text[:200])
        if status == 200:
            posted[name] = r.json()["event_id"]
        hooks.assert_flows(name)
    for name, (_, _, state) in POISON.items():
        if name in posted:
            e = settled(posted[name])
            assert e.state == state and (e.error or state == "done"), (name, e.state, e.error)
    assert "nested deeper than 32 levels" in event(posted["deep arrays"]).error
    assert "NaN" in event(posted["NaN entry"]).error
    assert "at most 1000" in event(posted["1,200 messages"]).error
    assert len(message("wamid.big").body) == MAX_BODY_BYTES - 1000

    # The journal as the admins see it: never a 500, even with these bodies in it.
    admin = login_client(hooks.api, seeded, "admin@demo.test", "demo-admin-1")
    op = login_client(hooks.api, seeded, *operator)
    for client in (admin, op):
        for state in ("", "rejected", "dead", "partial", "nonsense"):
            r = client.get("/api/admin/events", params={"state": state})
            assert r.status_code == 200, (state, r.text[:300])
    # bodies that name no account are the operator's to see, never a tenant admin's
    seen_by_operator = {e["id"] for e in op.get("/api/admin/events").json()}
    seen_by_admin = {e["id"] for e in admin.get("/api/admin/events").json()}
    assert {posted["NaN entry"], posted["deep arrays"]} <= seen_by_operator
    names_demo = {posted["1,200 messages"], posted["almost 3 MB of text"]}
    assert not (set(posted.values()) - names_demo) & seen_by_admin
    assert posted["1,200 messages"] in seen_by_admin  # rejected, and it names their number


def test_a_bad_part_never_costs_the_good_ones(hooks, seeded):
    good = [wamid("good") for _ in range(4)]
    partial = dumps(envelope(entries=[
        "not an entry",
        {"id": seed.DEMO_WABA, "changes": [
            change([
                text_message(good[0], "first good"),
                {"id": "wamid.no-from", "type": "text", "text": {"body": "x"}},  # no "from"
                7,
                text_message("wamid." + "x" * 200, "an id longer than any wamid"),
                text_message(good[1], "second good"),
            ], statuses=[{"id": "wamid.status-without-status", "timestamp": "1"}]),
            {"value": {"no": "field"}},
            {"field": "messages", "value": NAN_FREE_JUNK},
        ]},
        # another tenant's phone_number_id inside the Demo WABA's entry: refused, not routed
        {"id": seed.DEMO_WABA, "changes": [
            change([text_message("wamid.cross-tenant", "route me to Harbor")],
                   pnid=seed.HARBOR_PNID)]},
        {"id": seed.HARBOR_WABA, "changes": [change([text_message(good[2], "Harbor's own")],
                                                    pnid=seed.HARBOR_PNID)]},
    ]))
    r = hooks.post(partial)
    assert r.status_code == 200
    e = settled(r.json()["event_id"])
    assert e.state == "partial", (e.state, e.error)
    assert "messages[1]: from: Field required" in e.error
    assert f"does not belong to WhatsApp Business Account {seed.DEMO_WABA}" in e.error
    assert "entry[0]: not an object" in e.error
    assert [message(m).body for m in good[:3]] == ["first good", "second good", "Harbor's own"]
    assert message("wamid.cross-tenant") is None  # nowhere: not Harbor's, not Demo's
    harbor_msg = message(good[2])
    demo_msg = message(good[0])
    assert harbor_msg.account_id != demo_msg.account_id

    # Text is stored whatever its code points: lone surrogates and NUL become U+FFFD.
    lone = wamid("lone")
    body = (b'{"object":"whatsapp_business_account","entry":[{"id":"' + seed.DEMO_WABA.encode()
            + b'","changes":[' + dumps(change([text_message(lone, "@@")]))
            .replace(b'"@@"', b'"a\\ud800b\\udfff c\\u0000d \\ud83d\\ude00"') + b"]}]}")
    r = hooks.post(body)
    assert r.status_code == 200
    assert settled(r.json()["event_id"]).state == "done"
    assert message(lone).body == "a\ufffdb\ufffd c\ufffdd \U0001f600"
    named = wamid("lone-name")
    contacts = [{"profile": {"name": "\udc00Zoë"}, "wa_id": "15550109977"}]
    r = hooks.post(dumps(envelope(change([text_message(named, "hi", frm="15550109977")],
                                         contacts=contacts))))
    assert settled(r.json()["event_id"]).state == "done"
    assert message(named).body == "hi"

    # Duplicates: the same body three times is one message.
    dup = wamid("dup")
    body = dumps(envelope(change([text_message(dup, "only once")])))
    ids = [hooks.post(body).json()["event_id"] for _ in range(3)]
    assert {settled(i).state for i in ids} == {"done"}
    with Session(db.get_engine()) as s:
        assert len(s.exec(select(Message).where(Message.provider_message_id == dup)).all()) == 1
    hooks.assert_flows("partial bodies")


NAN_FREE_JUNK = {"metadata": "not an object", "messages": [{"from": MARIA}]}


def test_a_failing_event_is_retried_then_parked_and_retry_or_discard_work(
    hooks, seeded, operator, monkeypatch
):
    monkeypatch.setattr(lifecycle, "RETRY_DELAYS", [0.1, 0.1, 0.1, 0.1])
    broken = {"on": True}
    real_store = whatsapp._store_inbound

    def failing_store(session, event, number, account, plan, value, msg, *args, **kwargs):
        if broken["on"] and ".poison." in msg.id:
            raise RuntimeError("the disk said no")
        return real_store(session, event, number, account, plan, value, msg, *args, **kwargs)

    monkeypatch.setattr(whatsapp, "_store_inbound", failing_store)
    # a new customer: the per-event path (where the failure is) takes it
    poison = [wamid("poison") for _ in range(2)]
    first = hooks.post(dumps(envelope(change([text_message(poison[0], "p", frm="15550109901")],
                                             contacts=[])))).json()["event_id"]
    hooks.assert_flows("a failing event (while it retries)")
    e = wait_for(lambda: nudge() and (x := event(first)).state == "dead" and x, timeout=15)
    assert e.attempts == len(lifecycle.RETRY_DELAYS) + 1
    assert "Parked after 5 tries: RuntimeError: the disk said no" in e.error
    assert e.last_error_at is not None
    hooks.assert_flows("a dead event")
    second = hooks.post(dumps(envelope(change([text_message(poison[1], "q", frm="15550109902")],
                                              contacts=[])))).json()["event_id"]
    wait_for(lambda: nudge() and event(second).state == "dead", timeout=15)

    admin = login_client(hooks.api, seeded, "admin@demo.test", "demo-admin-1")
    harbor = login_client(hooks.api, seeded, "admin@harbor.test", "harbor-admin-1")
    rows = {r["id"]: r for r in admin.get("/api/admin/events", params={"state": "dead"}).json()}
    assert rows[first]["can_retry"] and rows[first]["can_discard"]
    assert first not in {r["id"] for r in harbor.get("/api/admin/events").json()}
    # another account's admin can neither retry nor discard it
    assert harbor.post(f"/api/admin/events/{first}/retry").status_code == 404
    assert harbor.post(f"/api/admin/events/{first}/discard").status_code == 404

    broken["on"] = False  # the cause is fixed: Retry processes it now
    r = admin.post(f"/api/admin/events/{first}/retry")
    assert r.status_code == 200, r.text
    wait_for(lambda: message(poison[0]), timeout=STALL_SECONDS)
    assert event(first).state == "done"
    assert admin.post(f"/api/admin/events/{first}/retry").status_code == 409  # done: no retry

    r = admin.post(f"/api/admin/events/{second}/discard")
    assert r.status_code == 200 and r.json()["state"] == "discarded"
    assert "Discarded by admin@demo.test" in event(second).error
    assert second not in {r["id"] for r in admin.get("/api/admin/events").json()}
    assert message(poison[1]) is None

    # The operator sees and acts on events of no account (a body that cannot be read).
    nan = hooks.post(b'{"entry":NaN}').json()["event_id"]
    settled(nan)
    assert admin.post(f"/api/admin/events/{nan}/discard").status_code == 404
    op = login_client(hooks.api, seeded, *operator)
    assert op.post(f"/api/admin/events/{nan}/discard").status_code == 200
    assert event(nan).state == "discarded"


# ------------------------------------------------------------------------ the Hypothesis run

JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                          exclude_categories=()), max_size=40),
    st.sampled_from(["", "text", "image", "reaction", "messages", "statuses", seed.DEMO_PNID,
                     seed.HARBOR_PNID, seed.DEMO_WABA, seed.HARBOR_WABA, MARIA, "x" * 300]),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
# Where a random value goes in the real shape (entry 0, change 0, message 0 / status 0 /
# contact 0). Message 1 is never touched: when the mutation stays inside message 0, status 0
# or contact 0 (the sub-objects), message 1 must be stored.
ENVELOPE_PATHS = [
    ("object",), ("entry",), ("entry", 0), ("entry", 0, "id"), ("entry", 0, "changes"),
    ("entry", 0, "changes", 0), ("entry", 0, "changes", 0, "field"),
    ("entry", 0, "changes", 0, "value"), ("entry", 0, "changes", 0, "value", "metadata"),
    ("entry", 0, "changes", 0, "value", "metadata", "phone_number_id"),
    ("entry", 0, "changes", 0, "value", "messages"),
]
VALUE = ("entry", 0, "changes", 0, "value")
PART_PATHS = [
    VALUE + ("messages", 0), VALUE + ("messages", 0, "from"), VALUE + ("messages", 0, "id"),
    VALUE + ("messages", 0, "timestamp"), VALUE + ("messages", 0, "type"),
    VALUE + ("messages", 0, "text"), VALUE + ("messages", 0, "text", "body"),
    VALUE + ("messages", 0, "context"), VALUE + ("messages", 0, "image"),
    VALUE + ("messages", 0, "reaction"), VALUE + ("messages", 0, "location"),
    VALUE + ("statuses", 0), VALUE + ("statuses", 0, "id"), VALUE + ("statuses", 0, "status"),
    VALUE + ("statuses", 0, "errors"), VALUE + ("statuses", 0, "pricing"),
    VALUE + ("contacts", 0), VALUE + ("contacts", 0, "profile"),
    VALUE + ("contacts", 0, "profile", "name"), VALUE + ("contacts", 0, "wa_id"),
]


def _put(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _base(first: str, second: str, outbound: str) -> dict:
    status = {"id": outbound, "status": "delivered", "timestamp": str(int(time.time())),
              "recipient_id": MARIA}
    return envelope(change([text_message(first, "mutated"), text_message(second, "kept")],
                           statuses=[status]))


# 1,000 in CI (make test); CTREFLEX_HOSTILE_EXAMPLES=100 for a quicker local run
EXAMPLES = int(os.environ.get("CTREFLEX_HOSTILE_EXAMPLES", "1000"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hypothesis_signed_bodies_never_5xx_nor_stall(hooks, seeded):
    must_store: list[str] = []
    counter = itertools.count()
    # statuses about a Demo Bakery message that exists (the fast path's plain case)
    outbound = seeded.exec(select(Message.provider_message_id).where(
        Message.direction == "outbound", Message.provider_message_id.like("wamid.DEMO-OUT-%"),
    )).first()
    assert outbound, "the seed has an outbound message to send statuses about"

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(
        part=st.booleans(),
        mutations=st.lists(st.tuples(st.integers(0, 10**6), JSON_VALUES), min_size=1,
                           max_size=3),
        as_bytes=st.sampled_from(["json", "truncated"]),
    )
    def run(part, mutations, as_bytes):
        n = next(counter)
        first, second = f"wamid.hyp.{n}.a", f"wamid.hyp.{n}.b"
        doc = _base(first, second, outbound)
        paths = PART_PATHS if part else ENVELOPE_PATHS
        for pick, value in mutations:
            # an earlier mutation may have replaced the container: fine, the body is odder
            with contextlib.suppress(KeyError, IndexError, TypeError):
                _put(doc, paths[pick % len(paths)], copy.deepcopy(value))
        body = json.dumps(doc).encode()  # NaN / Infinity as JS literals when drawn
        if as_bytes == "truncated":
            body = body[: max(1, len(body) // 2)]
        r = hooks.post(body)
        assert r.status_code == 200, (r.status_code, body[:300])
        if part and as_bytes == "json" and b"NaN" not in body and b"Infinity" not in body:
            must_store.append(second)

    run()
    sentinel = hooks.send_plain("the Hypothesis run")
    wait_for(lambda: message(sentinel), timeout=60)  # everything before it is taken first
    with Session(db.get_engine()) as s:
        states = {e.state for e in s.exec(select(WebhookEvent)).all()}
        stored = set(s.exec(select(Message.provider_message_id).where(
            Message.provider_message_id.in_(must_store))).all())
    assert "pending" not in states, states
    assert not set(must_store) - stored, sorted(set(must_store) - stored)[:5]


# --------------------------------------------------------- a body that kills the processor


class ProcessorKilled(BaseException):
    """Stands for the processor process dying mid-transaction (killed, out of memory, a crash
    in a C extension): nothing after it runs, its transaction is never committed."""


def test_an_event_that_kills_the_processor_is_parked_after_its_tries(seeded, monkeypatch):
    from ctreflex.inbound import processor

    def journal_text(mid: str) -> int:
        body = dumps(envelope(change([text_message(mid, "hi")])))
        return journal.journal_bodies(provider="whatsapp", bodies=[body])[0]

    poison_mid, good_mid = wamid("killer"), wamid("behind-the-killer")
    poison, good = journal_text(poison_mid), journal_text(good_mid)
    assert good == poison + 1  # behind it in the journal
    real = dispatch.process_events

    def dying(*, session, event_ids, **kwargs):
        if poison in event_ids:
            raise ProcessorKilled
        return real(session=session, event_ids=event_ids, **kwargs)

    monkeypatch.setattr(dispatch, "process_events", dying)
    with pytest.raises(ProcessorKilled):  # the batch dies: nothing committed, nothing counted
        processor.process_due()
    assert event(poison).attempts == 0 and message(good_mid) is None
    for restart in range(1, len(lifecycle.RETRY_DELAYS) + 2):  # each start: the careful batch
        with pytest.raises(ProcessorKilled):
            processor.process_due(careful=True)
        assert event(poison).attempts == restart  # counted before it was processed
    taken, _ = processor.process_due(careful=True)
    parked = event(poison)
    assert (taken, parked.state) == (2, "dead")
    assert "the processor stopped while processing it" in parked.error
    assert message(good_mid).body == "hi" and message(poison_mid) is None
    assert processor.process_due() == (0, lifecycle.Outcome())  # nothing left that is due
