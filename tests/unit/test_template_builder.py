"""The component builder against every template of fixture 16 and of the simulator's seed.

For each template: the form lists every variable; the approved examples build without errors
into components of the right shape (one parameter per variable, a URL suffix only for dynamic
URLs, a coupon code for copy-code buttons); the preview shows those values; leaving any
required field empty names exactly that field; and every template the inbox may send is
accepted by the simulator's Graph API (which checks shapes like Meta: 132000, 132012, …).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from ctreflex.simulator import SimulatorConfig, create_simulator
from ctreflex.simulator.seed import DEMO_PNID, DEMO_TOKEN, DEMO_WABA, HARBOR_TOKEN, HARBOR_WABA
from ctreflex.whatsapp import CloudAPIClient
from ctreflex.whatsapp.models import Template, TemplatePage
from ctreflex.whatsapp.templates import (
    build_components,
    render_preview,
    required_fields,
    template_variables,
)
from tests.fixtures import fixture_dir

FIXTURES = fixture_dir("whatsapp")

CANADA = "14165550123"  # a +1 number whose region is not US: marketing is delivered
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
SENDABLE = {"MARKETING", "UTILITY"}


def _fixture_16() -> list[Template]:
    data = json.loads((FIXTURES / "16_templates_list_page.json").read_text())
    return TemplatePage.model_validate(data).data


async def _simulator_templates() -> list[Template]:
    sim = create_simulator(SimulatorConfig(webhook_url=None))
    out: list[Template] = []
    transport = httpx.ASGITransport(app=sim.app)
    for token, waba in ((DEMO_TOKEN, DEMO_WABA), (HARBOR_TOKEN, HARBOR_WABA)):
        async with CloudAPIClient(token, base_url="http://sim", transport=transport) as wa:
            out += await wa.list_templates(waba, limit=5)  # small pages: follows the cursors
    return out


FIXTURE_16 = _fixture_16()
SEEDED = asyncio.run(_simulator_templates())
ALL = [pytest.param(t, id=f"fixture16-{t.name}-{t.language}") for t in FIXTURE_16] + [
    pytest.param(t, id=f"sim{t.id}-{t.name}-{t.language}") for t in SEEDED
]


def _sendable(t: Template) -> bool:
    return t.is_approved and (t.category or "").upper() in SENDABLE


def _example_values(t: Template, media: str = "https://example.com/header.jpg") -> dict:
    values = {}
    for spec in required_fields(t):
        if spec.kind in ("image", "video", "document"):
            values[spec.key] = media
        else:
            values[spec.key] = spec.example or "x"
    return values


def test_both_sets_are_complete():
    assert len(FIXTURE_16) == 4
    ids = {t.id for t in SEEDED}
    assert len(ids) == len(SEEDED) == 28  # fixture 16 (4) + 12 on each of the two WABAs
    assert {"300000000000001", "300000000000101", "300000000000201"} <= ids


@pytest.mark.parametrize("template", ALL)
def test_form_lists_every_variable(template: Template):
    keys = [s.key for s in required_fields(template)]
    body_vars = template_variables(template.body.text if template.body else None)
    assert [k for k in keys if k.startswith("body.")] == [f"body.{v}" for v in body_vars]
    h = template.header
    if h is not None and (h.format or "TEXT").upper() == "TEXT" and template_variables(h.text):
        assert keys[0] == "header.text"
    if h is not None and (h.format or "").upper() in ("IMAGE", "VIDEO", "DOCUMENT"):
        assert keys[0] == "header.media"
    for i, b in enumerate(template.buttons):
        if b.kind == "URL" and "{{" in (b.url or ""):
            assert f"button.{i}.url_suffix" in keys
        if b.kind == "COPY_CODE":
            assert f"button.{i}.coupon_code" in keys
        if b.kind == "QUICK_REPLY":
            assert f"button.{i}.payload" in keys
    for spec in required_fields(template):  # Meta's approved examples are offered
        if spec.required and spec.kind not in ("image", "video", "document"):
            assert spec.example, spec.key


@pytest.mark.parametrize("template", ALL)
def test_examples_build_the_right_shape(template: Template):
    values = _example_values(template)
    build = build_components(template, values)
    if not _sendable(template):
        assert build.errors and build.errors[0].field == "template"
        assert build.components == []
        return
    assert build.ok, build.errors
    comps = build.to_dicts()
    by_type: dict[str, list[dict]] = {}
    for c in comps:
        by_type.setdefault(c["type"], []).append(c)
    body_vars = template_variables(template.body.text)
    if body_vars:
        params = by_type["body"][0]["parameters"]
        assert [p["text"] for p in params] == [values[f"body.{v}"] for v in body_vars]
        if template.is_named:
            assert [p["parameter_name"] for p in params] == body_vars
    else:
        assert "body" not in by_type
    h = template.header
    if h is not None and (h.format or "").upper() == "IMAGE":
        assert by_type["header"][0]["parameters"] == [
            {"type": "image", "image": {"link": "https://example.com/header.jpg"}}
        ]
    elif h is not None and template_variables(h.text):
        assert by_type["header"][0]["parameters"][0]["text"] == values["header.text"]
    else:
        assert "header" not in by_type
    buttons = by_type.get("button", [])
    for b in buttons:
        assert int(b["index"]) in range(len(template.buttons))
    dynamic = [i for i, b in enumerate(template.buttons) if b.kind == "URL" and "{{" in b.url]
    assert [int(b["index"]) for b in buttons if b["sub_type"] == "url"] == dynamic
    codes = [i for i, b in enumerate(template.buttons) if b.kind == "COPY_CODE"]
    assert [int(b["index"]) for b in buttons if b["sub_type"] == "copy_code"] == codes
    # the preview is the message as sent: no variable left, the values in place
    rendered = render_preview(template, values)
    assert "{{" not in rendered.body
    for v in body_vars:
        assert values[f"body.{v}"] in rendered.body
    if rendered.header_text is not None:
        assert "{{" not in rendered.header_text
    for rb, tb in zip(rendered.buttons, template.buttons, strict=True):
        assert rb.type == tb.kind
        if rb.url:
            assert "{{" not in rb.url


@pytest.mark.parametrize("template", [p for p in ALL if _sendable(p.values[0])])
def test_each_missing_field_is_named(template: Template):
    values = _example_values(template)
    for spec in required_fields(template):
        if not spec.required:
            continue
        partial = {k: v for k, v in values.items() if k != spec.key}
        errors = build_components(template, partial).errors
        assert [e.field for e in errors] == [spec.key], spec.key


def test_simulator_accepts_every_sendable_template():
    """Sent through the Graph API exactly as built: the simulator finds no shape error."""

    async def run() -> list[tuple[str, str]]:
        sim = create_simulator(SimulatorConfig(webhook_url=None))
        transport = httpx.ASGITransport(app=sim.app)
        sent = []
        async with CloudAPIClient(DEMO_TOKEN, base_url="http://sim", transport=transport) as wa:
            media_id = await wa.upload_media(DEMO_PNID, JPEG, "image/jpeg", "header.jpg")
            for t in await wa.list_templates(DEMO_WABA):
                if not _sendable(t):
                    continue
                values = _example_values(t, media=media_id)
                build = build_components(t, values)
                assert build.ok, (t.name, build.errors)
                result = await wa.send_template(
                    DEMO_PNID,
                    CANADA,
                    name=t.name,
                    language=t.language,
                    components=build.components,
                )
                sent.append((t.name, t.language))
                assert result.wamid
        return sent

    sent = asyncio.run(run())
    assert ("order_ready", "es") in sent and ("pickup_reminder", "en_US") in sent
    assert ("spring_whitening_offer", "en_US") in sent and len(sent) == 10
