"""decode_plain (msgspec, the fast path's one-pass decoding) gives exactly what parse_webhook
gives, or None (then the full parser decides): on every fixture, on the edge cases where the
two parsers could differ, and on Hypothesis-built variations of the plain shape."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ctreflex.whatsapp.plain import decode_plain
from ctreflex.whatsapp.webhooks import WebhookParseError, parse_webhook
from tests.fixtures import load_fixture

FIXTURES = [f"{n:02d}" for n in range(1, 16)]


def plain_body(messages=None, statuses=None, contacts=None) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100100", "phone_number_id": "200000000000001"},
        "contacts": contacts if contacts is not None else [
            {"profile": {"name": "Maria Lopez"}, "wa_id": "12125550142"}],
        "messages": messages if messages is not None else [
            {"from": "12125550142", "id": "wamid.PLAIN1", "timestamp": "1767261600",
             "type": "text", "text": {"body": "Can I move my appointment?"}}],
    }
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "100000000000001", "changes": [{"field": "messages",
                                                             "value": value}]}]}


def same(plain, full, where="body") -> None:
    """Every field the Struct declares holds what the pydantic model holds."""
    if isinstance(plain, msgspec.Struct) and isinstance(full, dict):  # a free-form part
        assert full == {k: v for k, v in msgspec.structs.asdict(plain).items()
                        if v is not None}, where
    elif isinstance(plain, msgspec.Struct):
        assert isinstance(full, BaseModel), where
        for name in plain.__struct_fields__:
            same(getattr(plain, name), getattr(full, name), f"{where}.{name}")
    elif isinstance(plain, list):
        assert isinstance(full, list) and len(plain) == len(full), where
        for i, (p, f) in enumerate(zip(plain, full, strict=True)):
            same(p, f, f"{where}[{i}]")
    else:
        assert plain == full and type(plain) is type(full), where


def check(text: str) -> bool:
    """Asserts decode_plain agrees with parse_webhook; True when it decoded the body."""
    plain = decode_plain(text)
    if plain is None:
        return False
    full = parse_webhook(text)
    assert full.problems == []
    same(plain, full)
    for pe, fe in zip(plain.entry, full.entry, strict=True):
        for pc, fc in zip(pe.changes, fe.changes, strict=True):
            pv, fv = pc.value, fc.value
            for pm, fm in zip(pv.messages, fv.messages, strict=True):
                assert pm.timestamp_utc == fm.timestamp_utc
                assert pm.reply_to_id == fm.reply_to_id
                contact, full_contact = pv.contact_for(pm.from_), fv.contact_for(fm.from_)
                assert (contact.name if contact else None) == (
                    full_contact.name if full_contact else None)
            for ps, fs in zip(pv.statuses, fv.statuses, strict=True):
                assert (ps.timestamp_utc, ps.is_failed) == (fs.timestamp_utc, fs.is_failed)
                pe_, fe_ = ps.error, fs.error
                assert (pe_ is None) == (fe_ is None)
                if pe_ is not None:
                    assert (pe_.code, pe_.title, pe_.message, pe_.details) == (
                        fe_.code, fe_.title, fe_.message, fe_.details)
    return True


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_decodes_the_same_or_goes_to_the_full_parser(name):
    check(load_fixture("whatsapp", name).decode())


def test_the_common_shapes_are_decoded_in_one_pass():
    assert check(json.dumps(plain_body()))
    for name in ("01", "02", "11", "12", "13", "14"):  # texts, replies, statuses
        assert check(load_fixture("whatsapp", name).decode()), name
    emoji = plain_body(messages=[{"from": "12125550142", "id": "wamid.E", "timestamp": "1",
                                  "type": "text", "text": {"body": "merci 👍 é"}}])
    assert check(json.dumps(emoji))  # \ud83d\udc4d: a surrogate pair, not a lone one
    assert check(json.dumps(emoji, ensure_ascii=False))


def _message(**change) -> str:
    msg = {"from": "12125550142", "id": "wamid.X", "timestamp": "1767261600", "type": "text",
           "text": {"body": "hi"}, **change}
    return json.dumps(plain_body(messages=[{k: v for k, v in msg.items() if v is not ...}]))


@pytest.mark.parametrize("text", [
    _message(timestamp=1767261600),  # a number where pydantic makes a string of it
    _message(id="w" * 129),  # longer than MessageId: the full parser leaves the message out
    _message(**{"from": "1" * 33}),  # longer than WaId
    _message(referral={"source_url": "x"}),  # a field this decoder does not declare
    _message(text="oops"),  # the full parser moves it to payload_errors
    _message(context={"id": "wamid.Q", "forwarded": "yes"}),  # pydantic's lax bool
    _message(text={"body": "lone \ud800 surrogate"}),  # becomes U+FFFD in the full parser
    _message(text={"body": "nul \u0000 inside"}),
    _message(type="image", text=..., image={"id": "1"}),
    json.dumps(plain_body(statuses=[{"id": "w", "status": "failed", "timestamp": "1",
                                     "errors": [{"code": "131047"}]}])),  # code as a string
    json.dumps(plain_body(statuses=[{"id": "w", "status": "sent", "timestamp": "1",
                                     "errors": [{"code": 2**40}]}])),  # pydantic: None
    json.dumps(plain_body(statuses=[{"id": "w", "status": "sent", "timestamp": "1",
                                     "pricing": {"billable": "true"}}])),
    json.dumps(plain_body(statuses=[{"id": "w", "status": "sent", "timestamp": "1",
                                     "conversation": {"origin": {"type": "x", "n": 1e999}}}])),
    json.dumps({"object": "whatsapp_business_account", "entry": [{"id": 1, "changes": []}]}),
    json.dumps({"object": "w", "entry": [{"id": "1", "changes": [{  # another field: raw dict
        "field": "x", "value": {"metadata": {"phone_number_id": "2"}}}]}]}),
    json.dumps(plain_body(messages=[{"from": "1", "id": f"w{i}", "timestamp": "1",
                                     "type": "text"} for i in range(1001)])),  # > MAX_PARTS
])
def test_where_the_parsers_could_differ_the_full_parser_decides(text):
    assert decode_plain(text) is None


@pytest.mark.parametrize("text", [
    '{"object": "w", "entry": [], "entry": [{"id": "1"}]}',  # a repeated key: the last wins
    '{"object": "w", "entry": [{"id": "1", "time": 1, "time": 2}]}',
    '{"object": "w", "entry": [' + "[" * 40 + "]" * 40 + "]}",
    '{"object": "w", "entry": [], "x": 1e999}',
    '{"object": "w", "entry": [], "x": NaN}',
    '{"object": "w", "entry": []} trailing',
    '{"object": "w", "entry": [{"id": "1"}]}',
])
def test_odd_json_decodes_the_same_or_not_at_all(text):
    try:
        full = parse_webhook(text)
    except WebhookParseError:
        assert decode_plain(text) is None
        return
    plain = decode_plain(text)
    if plain is not None:
        assert full.problems == []
        same(plain, full)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(["from", "id", "timestamp", "type", "text", "body", "context", "name",
                         "wa_id", "profile", "status", "errors", "code", "pricing", "billable",
                         "category", "metadata", "phone_number_id", "messages", "statuses",
                         "contacts", "value", "field", "entry", "object", "changes", "time",
                         "extra"])


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


@st.composite
def variations(draw):
    """The plain body (with a reply and a status) with one to three parts replaced, removed or
    added: each a place where the two parsers' rules meet."""
    body = plain_body(
        messages=[{"from": "12125550142", "id": "wamid.V1", "timestamp": "1767261600",
                   "type": "text", "text": {"body": "hi"},
                   "context": {"from": "15550100100", "id": "wamid.V0"}}],
        statuses=[{"id": "wamid.V0", "status": "delivered", "timestamp": "1767261601",
                   "recipient_id": "12125550142",
                   "pricing": {"billable": True, "category": "utility"},
                   "errors": [{"code": 131047, "title": "t", "error_data": {"details": "d"}}]}],
    )
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(body) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "remove":
            parent.pop(path[-1])
        elif action == "add" and isinstance(parent, dict):
            parent[draw(_keys)] = draw(_json)
        else:
            parent[path[-1]] = draw(_json)
    return json.dumps(body, ensure_ascii=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variations())
def test_hypothesis_variations_decode_the_same_or_go_to_the_full_parser(text):
    try:
        parse_webhook(text)
    except WebhookParseError:
        assert decode_plain(text) is None
        return
    check(text)
