"""Length limits: the client's pre-flight (``check_text``, ``build_components``) must never
accept what the simulator (Meta's rules) rejects. Being *stricter* than Meta is allowed.

Both sides count characters the way Meta documents its limits ("4096 characters", "1024
characters") and product-rules.md reads them: as the customer sees them, so an emoji with a
skin tone (two code points) counts one. Client and simulator both count extended grapheme
clusters with the ``regex`` package's ``\\X``.
"""

from __future__ import annotations

import pytest

from ctreflex.simulator import create_simulator
from ctreflex.whatsapp import GraphAPIError, TextTooLongError, check_text, grapheme_count
from ctreflex.whatsapp.models import BodyParams, HeaderMedia, HeaderText, UrlButtonParam
from ctreflex.whatsapp.templates import build_components

from .conftest import DEMO_WABA, LIAM, MARIA, PNID, client_for, control_for, fast_config

pytestmark = pytest.mark.anyio

THUMB = "👍🏽"  # one grapheme, two code points (U+1F44D U+1F3FD)


@pytest.fixture
async def wa(quiet_sim):
    async with client_for(quiet_sim) as c, control_for(quiet_sim) as ctl:
        r = await ctl.post(
            f"/control/customers/{MARIA}/messages", json={"type": "text", "text": "hi"}
        )
        assert r.status_code == 200
        yield c


async def test_ascii_limits_agree(wa) -> None:
    """At the plain-ASCII boundary both sides draw the line at the same place."""
    assert check_text("a" * 4096) == 4096
    assert (await wa.send_text(PNID, MARIA, "a" * 4096)).wamid
    with pytest.raises(GraphAPIError) as info:
        await wa.send_text(PNID, MARIA, "a" * 4097)
    assert info.value.code == 100

    [t] = await wa.list_templates(DEMO_WABA, name="order_ready", language="en_US")
    fixed = len(t.body.text.replace("{{1}}", "").replace("{{2}}", "").replace("{{3}}", ""))
    room = 1024 - fixed
    ok = build_components(
        t, {"header.text": "#1", "body.1": "a" * (room - 2), "body.2": "b", "body.3": "c"}
    )
    assert ok.ok
    res = await wa.send_template(
        PNID, LIAM, name="order_ready", language="en_US", components=ok.components
    )
    assert res.message_status == "accepted"
    too_long = build_components(
        t, {"header.text": "#1", "body.1": "a" * (room - 1), "body.2": "b", "body.3": "c"}
    )
    assert not too_long.ok


async def test_client_is_stricter_where_the_simulator_is_lenient(wa) -> None:
    """Header text > 60 and URL suffixes with spaces: the builder refuses, the simulator
    accepts. Allowed (client stricter), recorded here so a change on either side is seen."""
    [t] = await wa.list_templates(DEMO_WABA, name="order_ready", language="en_US")
    b = build_components(t, {"header.text": "X" * 70, "body.1": "a", "body.2": "b", "body.3": "c"})
    assert not b.ok and b.errors[0].field == "header.text"
    res = await wa.send_template(
        PNID,
        LIAM,
        name="order_ready",
        language="en_US",
        components=[HeaderText(text="X" * 70), BodyParams(values=["a", "b", "c"])],
    )
    assert res.message_status == "accepted"

    [o] = await wa.list_templates(DEMO_WABA, name="weekend_treats_offer", language="en_US")
    b = build_components(
        o,
        {
            "header.media": "https://example.com/a.jpg",
            "body.1": "a",
            "body.2": "b",
            "body.3": "c",
            "button.0.url_suffix": "a b",
        },
    )
    assert not b.ok and b.errors[0].field == "button.0.url_suffix"
    res = await wa.send_template(
        PNID,
        LIAM,
        name=o.name,
        language="en_US",
        components=[
            HeaderMedia(kind="image", link="https://example.com/a.jpg"),
            BodyParams(values=["a", "b", "c"]),
            UrlButtonParam(index=0, suffix="a b"),
        ],
    )
    assert res.message_status == "accepted"


async def test_text_limit_counts_the_same_characters() -> None:
    sim = create_simulator(fast_config(None))
    await sim.start()
    try:
        async with client_for(sim) as wa, control_for(sim) as ctl:
            await ctl.post(
                f"/control/customers/{MARIA}/messages", json={"type": "text", "text": "hi"}
            )
            text = THUMB * 2100  # 2100 graphemes, 4200 code points
            assert grapheme_count(text) == 2100
            assert check_text(text) == 2100  # the client says: fits
            assert (await wa.send_text(PNID, MARIA, text)).wamid  # the simulator agrees
            with pytest.raises(TextTooLongError):  # and both refuse one more
                check_text(THUMB * 4097)
            with pytest.raises(GraphAPIError) as info:
                await wa.send_text(PNID, MARIA, THUMB * 4097)
            assert info.value.code == 100
    finally:
        await sim.stop()


async def test_template_body_limit_counts_the_same_characters() -> None:
    sim = create_simulator(fast_config(None))
    await sim.start()
    try:
        async with client_for(sim) as wa:
            [t] = await wa.list_templates(DEMO_WABA, name="order_ready", language="en_US")
            b = build_components(
                t,
                {
                    "header.text": "#1",
                    "body.1": THUMB * 300,
                    "body.2": THUMB * 300,
                    "body.3": THUMB * 300,
                },
            )
            assert b.ok  # the builder says: fits (≈ 990 graphemes, ≈ 1890 code points)
            res = await wa.send_template(
                PNID, LIAM, name="order_ready", language="en_US", components=b.components
            )
            assert res.message_status == "accepted"  # the simulator agrees
    finally:
        await sim.stop()
