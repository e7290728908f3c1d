"""Contract 4: the client's template builder (``ctreflex.whatsapp.templates``) and the
simulator's Meta-side template rules agree.

* every APPROVED MARKETING/UTILITY template the simulator seeds (both WABAs, every language),
  filled from ``required_fields`` with valid example values, is built without errors and
  accepted by the simulator;
* what the builder rejects as invalid (a missing or malformed value) the simulator rejects too,
  with the template error codes (132000 / 132012 / 132018 / 132005);
* templates the builder refuses to send at all (not approved) are refused by the simulator.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ctreflex.simulator import create_simulator, samples
from ctreflex.whatsapp import CloudAPIClient, Template, TemplateError
from ctreflex.whatsapp.templates import MediaRef, build_components, required_fields

from .conftest import (
    DEMO_WABA,
    HARBOR_PNID,
    HARBOR_TOKEN,
    HARBOR_WABA,
    LIAM,
    PNID,
    TOKEN,
    client_for,
    control_for,
    fast_config,
)

pytestmark = pytest.mark.anyio

ACCOUNTS = [(DEMO_WABA, PNID, TOKEN), (HARBOR_WABA, HARBOR_PNID, HARBOR_TOKEN)]
SAMPLE_FILES = {
    "image": (samples.jpeg, "image/jpeg", "header.jpg"),
    "video": (samples.mp4, "video/mp4", "header.mp4"),
    "document": (samples.pdf, "application/pdf", "header.pdf"),
}


def _sendable(t: Template) -> bool:
    return t.is_approved and (t.category or "").upper() in ("MARKETING", "UTILITY")


async def _valid_values(wa: CloudAPIClient, pnid: str, t: Template) -> dict[str, Any]:
    """A valid example value for every field the picker asks for (media uploaded first)."""
    values: dict[str, Any] = {}
    for spec in required_fields(t):
        if spec.kind in SAMPLE_FILES:
            make, mime, name = SAMPLE_FILES[spec.kind]
            media_id = await wa.upload_media(pnid, make(), mime, name)
            values[spec.key] = MediaRef(kind=spec.kind, media_id=media_id, filename=name)
        elif spec.kind == "payload":
            values[spec.key] = f"PAYLOAD_{spec.key.split('.')[1]}"
        else:
            assert spec.example, f"{t.name}/{t.language}: no example for {spec.key}"
            values[spec.key] = spec.example
    return values


@pytest.fixture
async def world():
    """Clients for both seeded WABAs plus every template each of them lists.

    The throughput cap is raised: this module fires well over 80 sends a second and the
    simulator counts rejected sends against the 80 mps budget too.
    """
    sim = create_simulator(fast_config(None, throughput_mps=100_000))
    await sim.start()
    clients = {waba: client_for(sim, token=token) for waba, _, token in ACCOUNTS}
    listed = {waba: await clients[waba].list_templates(waba, limit=4) for waba in clients}
    yield sim, clients, listed
    for c in clients.values():
        await c.aclose()
    await sim.stop()


async def test_every_sendable_seed_template_is_accepted(world) -> None:
    sim, clients, listed = world
    seeded = {
        t.id
        for t in sim.state.templates.values()
        if t.status == "APPROVED" and t.category in ("MARKETING", "UTILITY")
    }
    tried: set[str] = set()
    async with control_for(sim) as ctl:
        for waba, pnid, _ in ACCOUNTS:
            wa = clients[waba]
            for t in listed[waba]:
                if not _sendable(t):
                    continue
                values = await _valid_values(wa, pnid, t)
                build = build_components(t, values)
                assert build.ok, (t.name, t.language, build.errors)
                res = await wa.send_template(
                    pnid, LIAM, name=t.name, language=t.language, components=build.components
                )
                assert res.message_status == "accepted", (t.name, t.language)
                out = (await ctl.get("/control/outbox", params={"to": LIAM})).json()
                shown = next(m for m in out["messages"] if m["wamid"] == res.wamid)["template"]
                assert "{{" not in shown["body"], shown  # every variable was substituted
                if shown["header"] and shown["header"].get("text"):
                    assert "{{" not in shown["header"]["text"]
                for b in shown["buttons"]:
                    assert "{{" not in (b.get("url") or "")
                tried.add(t.id)
    assert tried == seeded  # nothing was skipped
    assert len(tried) >= 10


def _mutations(t: Template, valid: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, values) pairs the builder must reject: each required field blanked or made
    invalid in a way Meta also rejects."""
    out: list[tuple[str, dict[str, Any]]] = []
    for spec in required_fields(t):
        if not spec.required:
            continue
        missing = {k: v for k, v in valid.items() if k != spec.key}
        out.append((f"missing {spec.key}", missing))
        if spec.kind == "text":
            out.append((f"newline in {spec.key}", {**valid, spec.key: "two\nlines"}))
            out.append((f"tab in {spec.key}", {**valid, spec.key: "a\tb"}))
            out.append((f"5 spaces in {spec.key}", {**valid, spec.key: "a     b"}))
        if spec.kind in SAMPLE_FILES:
            other = "video" if spec.kind != "video" else "image"
            ref = valid[spec.key]
            out.append(
                (
                    f"wrong media kind for {spec.key}",
                    {**valid, spec.key: MediaRef(kind=other, media_id=ref.media_id)},
                )
            )
        if spec.kind == "coupon_code":
            out.append((f"long {spec.key}", {**valid, spec.key: "C" * 16}))
    body_keys = [s.key for s in required_fields(t) if s.key.startswith("body.")]
    if body_keys:
        out.append(("body too long", {**valid, body_keys[0]: "x" * 1030}))
    return out


def _force_components(
    valid_components: list[dict[str, Any]],
    label: str,
    values: dict[str, Any],
    valid: dict[str, Any],
) -> list[dict[str, Any]]:
    """The request a client *without* pre-flight would send for the same bad values."""
    comps = copy.deepcopy(valid_components)
    changed = [k for k in valid if k not in values or values[k] != valid[k]]
    [key] = changed
    part = key.split(".")
    if part[0] == "header":
        header = next(c for c in comps if c["type"] == "header")
        if key not in values:
            comps.remove(header)
        elif part[1] == "media":
            ref: MediaRef = values[key]
            header["parameters"] = [{"type": ref.kind, ref.kind: {"id": ref.media_id}}]
        else:
            header["parameters"][0]["text"] = values[key]
        return comps
    if part[0] == "body":
        body = next(c for c in comps if c["type"] == "body")
        name = part[1]
        idx = next(
            i
            for i, p in enumerate(body["parameters"])
            if p.get("parameter_name", str(i + 1)) == name
        )
        if key not in values:
            body["parameters"].pop(idx)
        else:
            body["parameters"][idx]["text"] = values[key]
        return comps
    # button.<i>.<field>
    btn = next(c for c in comps if c["type"] == "button" and c["index"] == part[1])
    if key not in values:
        comps.remove(btn)
    else:
        p = btn["parameters"][0]
        p["coupon_code" if p["type"] == "coupon_code" else "text"] = values[key]
    return comps


EXPECTED_CODES = {
    "missing": {132000, 132012},
    "newline": {132018},
    "tab": {132018},
    "5 spaces": {132018},
    "wrong media kind": {132012},
    "long": {132012},
    "body too long": {132005},
}


async def test_builder_rejections_are_meta_rejections(world) -> None:
    sim, clients, listed = world
    checked: list[str] = []
    for waba, pnid, _ in ACCOUNTS:
        wa = clients[waba]
        for t in listed[waba]:
            if not _sendable(t):
                continue
            valid = await _valid_values(wa, pnid, t)
            good = build_components(t, valid)
            assert good.ok
            good_dicts = good.to_dicts()
            for label, values in _mutations(t, valid):
                build = build_components(t, values)
                assert not build.ok and build.components == [], (t.name, label)
                key = next(k for k in valid if k not in values or values[k] != valid[k])
                assert key in {e.field for e in build.errors} or label == "body too long", (
                    t.name,
                    label,
                    build.errors,
                )
                comps = _force_components(good_dicts, label, values, valid)
                with pytest.raises(TemplateError) as info:
                    await wa.send_template(
                        pnid, LIAM, name=t.name, language=t.language, components=comps
                    )
                prefix = next(
                    p for p in sorted(EXPECTED_CODES, key=len, reverse=True) if label.startswith(p)
                )
                assert info.value.code in EXPECTED_CODES[prefix], (
                    t.name,
                    t.language,
                    label,
                    info.value,
                )
                checked.append(f"{t.name}/{t.language}: {label} -> {info.value.code}")
    assert len(checked) > 40, checked


async def test_unsendable_templates_are_refused_by_both(world) -> None:
    """Not-approved templates: the builder refuses them and so does the simulator."""
    sim, clients, listed = world
    seen: dict[str, int] = {}
    for waba, pnid, _ in ACCOUNTS:
        wa = clients[waba]
        for t in listed[waba]:
            if t.is_approved:
                continue
            values = {s.key: s.example or "x" for s in required_fields(t)}
            build = build_components(t, values)
            assert not build.ok
            assert "template" in {e.field for e in build.errors}
            # the parameters are right; only the status is wrong
            body = [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": values[s.key]}
                        for s in required_fields(t)
                        if s.key.startswith("body.")
                    ],
                }
            ]
            with pytest.raises(TemplateError) as info:
                await wa.send_template(
                    pnid, LIAM, name=t.name, language=t.language, components=body
                )
            seen[t.status] = info.value.code
    assert seen == {"PENDING": 132001, "REJECTED": 132001, "PAUSED": 132015, "DISABLED": 132016}


async def test_authentication_template_is_product_blocked_but_meta_valid(world) -> None:
    """The inbox refuses AUTHENTICATION templates (product rule); the simulator accepts a
    correctly-formed OTP send, so the refusal is the client's choice, not a Meta rule."""
    sim, clients, listed = world
    wa = clients[DEMO_WABA]
    [otp] = [t for t in listed[DEMO_WABA] if t.name == "login_code"]
    build = build_components(otp, {"body.1": "482913", "button.0.url_suffix": "482913"})
    assert not build.ok and {e.field for e in build.errors} == {"template"}
    res = await wa.send_template(
        PNID,
        LIAM,
        name="login_code",
        language="en_US",
        components=[
            {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "482913"}],
            },
        ],
    )
    assert res.message_status == "accepted"
