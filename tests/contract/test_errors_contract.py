"""Contract 2: every error the simulator produces synchronously reaches the caller of
``CloudAPIClient`` as the right typed exception, with code, title, details, fbtrace_id and the
HTTP status populated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ctreflex.simulator import create_simulator, samples
from ctreflex.simulator.errors import title_for
from ctreflex.whatsapp import (
    AuthError,
    CloudAPIClient,
    GraphAPIError,
    InvalidParameterError,
    MediaError,
    NotRegisteredError,
    PaymentError,
    PermissionDeniedError,
    PolicyError,
    RateLimitError,
    RecipientError,
    RegistrationError,
    RegistrationRateLimitError,
    ServiceUnavailableError,
    TemplateError,
    VerificationCodeError,
)

from .conftest import (
    DEMO_WABA,
    HARBOR_PNID,
    HARBOR_WABA,
    LIAM,
    MARIA,
    ORDERS_PNID,
    PIN,
    PNID,
    client_for,
    control_for,
    fast_config,
)

pytestmark = pytest.mark.anyio

MB = 1024 * 1024
ORDER_READY_BODY = {
    "type": "body",
    "parameters": [
        {"type": "text", "text": "Maria"},
        {"type": "text", "text": "sourdough loaf"},
        {"type": "text", "text": "12 Baker Street"},
    ],
}
ORDER_READY_HEADER = {"type": "header", "parameters": [{"type": "text", "text": "#1042"}]}


@dataclass
class Ctx:
    sim: Any
    wa: CloudAPIClient
    ctl: httpx.AsyncClient


@dataclass
class Case:
    id: str
    call: Callable[[Ctx], Awaitable[Any]]
    code: int
    cls: type[GraphAPIError]
    http: int = 400
    details: str | None = None  # substring of error_data.details
    config: dict[str, Any] = field(default_factory=dict)
    subcode: int | None = None


# ---- helpers for multi-step cases ------------------------------------------------------------
def tpl(name: str, *components: dict[str, Any], lang: str = "en_US"):
    return lambda c: c.wa.send_template(
        PNID, LIAM, name=name, language=lang, components=list(components)
    )


async def bad_token(c: Ctx) -> Any:
    async with client_for(c.sim, token="not-a-token") as other:
        return await other.get_phone_number(PNID)


async def bad_token_send(c: Ctx) -> Any:
    async with client_for(c.sim, token="EAAG-expired") as other:
        return await other.send_text(PNID, MARIA, "hi")


async def burst(c: Ctx) -> Any:
    await c.wa.send_text(PNID, MARIA, "one")  # throughput_mps=1 in this case's config
    return await c.wa.send_text(PNID, MARIA, "two")


async def register_flood(c: Ctx) -> Any:
    for _ in range(10):
        assert await c.wa.register(PNID, PIN)
    return await c.wa.register(PNID, PIN)


async def request_code_flood(c: Ctx) -> Any:
    for _ in range(5):
        assert await c.wa.request_code(ORDERS_PNID, "SMS")
    return await c.wa.request_code(ORDERS_PNID, "VOICE")


async def wrong_code(c: Ctx) -> Any:
    r = await c.ctl.post(
        f"/control/phone_numbers/{ORDERS_PNID}/verification_code", json={"code": "246810"}
    )
    assert r.status_code == 200
    return await c.wa.verify_code(ORDERS_PNID, "135790")


async def expired_code(c: Ctx) -> Any:
    assert await c.wa.request_code(ORDERS_PNID, "SMS")
    code = (await c.ctl.get("/control/codes")).json()["codes"][ORDERS_PNID]["code"]
    await c.ctl.post("/control/clock", json={"advance_seconds": 601})
    return await c.wa.verify_code(ORDERS_PNID, code)


async def media_caption_too_long(c: Ctx) -> Any:
    mid = await c.wa.upload_media(PNID, samples.jpeg(), "image/jpeg", "a.jpg")
    return await c.wa.send_media(PNID, MARIA, "image", media_id=mid, caption="x" * 1025)


async def oversize_image(c: Ctx) -> Any:
    png = samples.png()
    data = png + b"\0" * (5 * MB + 1 - len(png))
    return await c.wa.upload_media(PNID, data, "image/png", "big.png")


async def mark_read_unknown(c: Ctx) -> Any:
    return await c.wa.mark_read(PNID, "wamid.HBgLMTU1NTAxMDAxNDIVAgARGBJ.unknown")


CASES: list[Case] = [
    # 190 / auth
    Case("190-bad-token", bad_token, 190, AuthError, 401, "not valid"),
    Case("190-bad-token-send", bad_token_send, 190, AuthError, 401),
    # 100 / malformed or missing parameters
    Case(
        "100-empty-text",
        lambda c: c.wa.send_text(PNID, MARIA, ""),
        100,
        InvalidParameterError,
        details="text['body']",
    ),
    Case(
        "100-text-too-long",
        lambda c: c.wa.send_text(PNID, MARIA, "a" * 4097),
        100,
        InvalidParameterError,
        details="4096",
    ),
    Case(
        "100-bad-to",
        lambda c: c.wa.send_text(PNID, "not-a-number", "hi"),
        100,
        InvalidParameterError,
        details="to",
    ),
    Case(
        "100-missing-language",
        lambda c: c.wa.send_template(PNID, LIAM, name="order_ready", language=""),
        100,
        InvalidParameterError,
        details="template['language']['code']",
    ),
    Case(
        "100-missing-template-name",
        lambda c: c.wa.send_template(PNID, LIAM, name="", language="en_US"),
        100,
        InvalidParameterError,
        details="template['name']",
    ),
    Case(
        "100-caption-too-long",
        media_caption_too_long,
        100,
        InvalidParameterError,
        details="caption",
    ),
    Case(
        "100-media-link-not-http",
        lambda c: c.wa.send_media(PNID, MARIA, "image", link="ftp://example.com/a.jpg"),
        100,
        InvalidParameterError,
        details="link",
    ),
    Case(
        "100-bad-pin",
        lambda c: c.wa.register(PNID, "12"),
        100,
        InvalidParameterError,
        details="pin",
    ),
    Case(
        "100-mark-read-unknown", mark_read_unknown, 100, InvalidParameterError, details="message_id"
    ),
    Case(
        "100-other-waba-number",
        lambda c: c.wa.get_phone_number(HARBOR_PNID),
        100,
        InvalidParameterError,
        details=HARBOR_PNID,
        subcode=33,
    ),
    Case(
        "100-other-waba-templates",
        lambda c: c.wa.list_templates(HARBOR_WABA),
        100,
        InvalidParameterError,
        details=HARBOR_WABA,
        subcode=33,
    ),
    Case(
        "100-unknown-media-info",
        lambda c: c.wa.get_media("999999999"),
        100,
        InvalidParameterError,
        details="999999999",
        subcode=33,
    ),
    Case(
        "100-add-number-missing-name",
        lambda c: c.wa.add_phone_number(DEMO_WABA, "1", "5550100111", ""),
        100,
        InvalidParameterError,
        details="verified_name",
    ),
    # 130429 throughput
    Case("130429-burst", burst, 130429, RateLimitError, config={"throughput_mps": 1}),
    # 131021 sender == recipient
    Case(
        "131021-self",
        lambda c: c.wa.send_text(PNID, "+1 555-010-0100", "hi"),
        131021,
        InvalidParameterError,
    ),
    # 133xxx registration
    Case(
        "133010-unregistered",
        lambda c: c.wa.send_text(ORDERS_PNID, MARIA, "hi"),
        133010,
        NotRegisteredError,
    ),
    Case(
        "133006-not-verified", lambda c: c.wa.register(ORDERS_PNID, PIN), 133006, RegistrationError
    ),
    Case("133005-pin-mismatch", lambda c: c.wa.register(PNID, "654321"), 133005, RegistrationError),
    Case("133016-register-flood", register_flood, 133016, RegistrationRateLimitError),
    # 136xxx verification codes
    Case("136024-request-flood", request_code_flood, 136024, VerificationCodeError),
    Case("136025-wrong-code", wrong_code, 136025, VerificationCodeError, details="wrong code"),
    Case("136025-expired-code", expired_code, 136025, VerificationCodeError, details="expired"),
    Case(
        "136025-no-code",
        lambda c: c.wa.verify_code(ORDERS_PNID, "123456"),
        136025,
        VerificationCodeError,
        details="request_code",
    ),
    # 132xxx templates (all synchronous in the simulator)
    Case(
        "132001-unknown-name",
        tpl("no_such_template"),
        132001,
        TemplateError,
        details="no_such_template",
    ),
    Case(
        "132001-wrong-language",
        tpl("order_ready", ORDER_READY_HEADER, ORDER_READY_BODY, lang="de"),
        132001,
        TemplateError,
    ),
    Case("132001-pending", tpl("holiday_preorder"), 132001, TemplateError, details="PENDING"),
    Case("132001-rejected", tpl("flash_sale_bogo"), 132001, TemplateError, details="REJECTED"),
    Case("132015-paused", tpl("summer_menu_launch"), 132015, TemplateError),
    Case("132016-disabled", tpl("old_loyalty_promo"), 132016, TemplateError),
    Case(
        "132000-body-count",
        tpl(
            "order_ready",
            ORDER_READY_HEADER,
            {"type": "body", "parameters": [{"type": "text", "text": "Maria"}]},
        ),
        132000,
        TemplateError,
        details="body",
    ),
    Case(
        "132000-header-count",
        tpl("order_ready", ORDER_READY_BODY),
        132000,
        TemplateError,
        details="header",
    ),
    Case(
        "132000-named-mismatch",
        tpl(
            "pickup_reminder",
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "customer_name", "text": "Maria"},
                    {"type": "text", "parameter_name": "item", "text": "cake"},
                    {"type": "text", "parameter_name": "closing", "text": "6 pm"},
                ],
            },
        ),
        132000,
        TemplateError,
        details="closing",
    ),
    Case(
        "132012-header-format",
        tpl(
            "weekend_treats_offer",
            {
                "type": "header",
                "parameters": [{"type": "video", "video": {"link": "https://example.com/a.mp4"}}],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "a"},
                    {"type": "text", "text": "b"},
                    {"type": "text", "text": "c"},
                ],
            },
        ),
        132012,
        TemplateError,
        details="IMAGE",
    ),
    Case(
        "132012-missing-url-suffix",
        tpl(
            "weekend_treats_offer",
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "a"},
                    {"type": "text", "text": "b"},
                    {"type": "text", "text": "c"},
                ],
            },
        ),
        132012,
        TemplateError,
        details="url",
    ),
    Case(
        "132012-missing-coupon",
        tpl(
            "loyalty_reward_code",
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Dev"}, {"type": "text", "text": "CAFE10"}],
            },
        ),
        132012,
        TemplateError,
        details="copy_code",
    ),
    Case(
        "132018-newline",
        tpl(
            "order_ready",
            ORDER_READY_HEADER,
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Maria\nLopez"},
                    {"type": "text", "text": "loaf"},
                    {"type": "text", "text": "here"},
                ],
            },
        ),
        132018,
        TemplateError,
    ),
    Case(
        "132005-too-long",
        tpl(
            "order_ready",
            ORDER_READY_HEADER,
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "M" * 1000},
                    {"type": "text", "text": "loaf"},
                    {"type": "text", "text": "here"},
                ],
            },
        ),
        132005,
        TemplateError,
    ),
    # 131009 parameter value not valid
    Case(
        "131009-button-index",
        tpl(
            "order_ready",
            ORDER_READY_HEADER,
            ORDER_READY_BODY,
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "5",
                "parameters": [{"type": "payload", "payload": "X"}],
            },
        ),
        131009,
        InvalidParameterError,
    ),
    Case(
        "131009-unknown-media-id",
        lambda c: c.wa.send_media(PNID, MARIA, "image", media_id="987654321"),
        131009,
        InvalidParameterError,
        details="987654321",
    ),
    # 131053 upload type / size
    Case(
        "131053-upload-not-jpeg",
        lambda c: c.wa.upload_media(PNID, b"plain text, not a jpeg", "image/jpeg", "a.jpg"),
        131053,
        MediaError,
        details="image/jpeg",
    ),
    Case(
        "131053-upload-gif",
        lambda c: c.wa.upload_media(PNID, b"GIF89a" + b"\0" * 32, "image/gif", "a.gif"),
        131053,
        MediaError,
        details="image/gif",
    ),
    Case(
        "131053-upload-content-mismatch",
        lambda c: c.wa.upload_media(PNID, samples.pdf(), "image/png", "a.png"),
        131053,
        MediaError,
        details="application/pdf",
    ),
    Case("131053-upload-oversize", oversize_image, 131053, MediaError, details="exceeds"),
]


async def _run(case: Case) -> GraphAPIError:
    sim = create_simulator(fast_config(None, **case.config))
    await sim.start()
    try:
        async with client_for(sim) as wa, control_for(sim) as ctl:
            with pytest.raises(GraphAPIError) as info:
                await case.call(Ctx(sim, wa, ctl))
        return info.value
    finally:
        await sim.stop()


def _check(exc: GraphAPIError, *, code: int, cls: type, http: int) -> None:
    assert type(exc) is cls, (type(exc).__name__, exc)
    assert exc.code == code, exc
    assert exc.http_status == http, exc
    assert exc.title, exc
    assert exc.details, exc
    assert exc.fbtrace_id, exc
    assert exc.message.startswith(f"(#{code}) "), exc.message
    assert exc.error_type in ("OAuthException", "GraphMethodException"), exc.error_type
    assert exc.payload.get("error", {}).get("code") == code
    assert exc.help.title  # the client can explain the code to a person


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_sync_error_is_typed(case: Case) -> None:
    exc = await _run(case)
    _check(exc, code=case.code, cls=case.cls, http=case.http)
    if case.details:
        assert case.details.lower() in exc.details.lower(), exc.details
    if case.subcode is not None:
        assert exc.subcode == case.subcode
        assert exc.error_type == "GraphMethodException"
    else:
        assert exc.title == title_for(case.code)
        assert exc.error_type == "OAuthException"


#: codes forced through PUT /control/faults -> (client class, HTTP status the simulator uses)
FORCED: list[tuple[int, type[GraphAPIError], int]] = [
    (0, AuthError, 401),
    (3, PermissionDeniedError, 400),
    (4, RateLimitError, 400),
    (10, PermissionDeniedError, 400),
    (100, InvalidParameterError, 400),
    (200, PermissionDeniedError, 403),
    (368, PolicyError, 400),
    (80007, RateLimitError, 400),
    (130429, RateLimitError, 400),
    (130472, RecipientError, 400),
    (130497, RecipientError, 400),
    (131000, ServiceUnavailableError, 500),
    (131005, PermissionDeniedError, 403),
    (131008, InvalidParameterError, 400),
    (131016, ServiceUnavailableError, 503),
    (131026, RecipientError, 400),
    (131030, RecipientError, 400),
    (131031, PolicyError, 400),
    (131037, PolicyError, 400),
    (131042, PaymentError, 400),
    (131045, RegistrationError, 400),
    (131048, RateLimitError, 400),
    (131050, RecipientError, 400),
    (131052, MediaError, 400),
    (131056, RateLimitError, 400),
    (131057, ServiceUnavailableError, 400),
    (132007, TemplateError, 400),
    (132008, TemplateError, 400),
    (133000, RegistrationError, 400),
    (135000, GraphAPIError, 400),
]


@pytest.mark.parametrize(("code", "cls", "http"), FORCED, ids=[str(c) for c, _, _ in FORCED])
async def test_forced_error_code_is_typed(code: int, cls: type, http: int) -> None:
    sim = create_simulator(fast_config(None))
    await sim.start()
    try:
        async with client_for(sim) as wa, control_for(sim) as ctl:
            r = await ctl.put("/control/faults", json={"force_error_code": code, "count": 1})
            assert r.status_code == 200, r.text
            with pytest.raises(GraphAPIError) as info:
                await wa.send_text(PNID, MARIA, "hello")
            _check(info.value, code=code, cls=cls, http=http)
            assert info.value.title == title_for(code)
            # count=1: the next send goes through
            assert (await wa.send_text(PNID, MARIA, "hello again")).wamid
            # scope "all" reaches every Graph call, e.g. reading a phone number
            r = await ctl.put(
                "/control/faults",
                json={"force_error_code": code, "count": 1, "force_error_scope": "all"},
            )
            assert r.status_code == 200, r.text
            with pytest.raises(GraphAPIError) as info:
                await wa.get_phone_number(PNID)
            _check(info.value, code=code, cls=cls, http=http)
    finally:
        await sim.stop()


async def test_rate_limit_is_retried_then_raised_when_retries_allowed() -> None:
    """130429 is retryable: with retries on, the client tries again (and still types it)."""
    sim = create_simulator(fast_config(None, throughput_mps=1))
    await sim.start()
    try:
        async with client_for(sim, max_retries=2, retry_wait_base=0) as wa:
            await wa.send_text(PNID, MARIA, "one")
            with pytest.raises(RateLimitError) as info:
                await wa.send_text(PNID, MARIA, "two")
            assert info.value.code == 130429
        # the retries were refused too: only the first message was ever accepted
        assert sum(1 for m in sim.state.messages if m.direction == "out") == 1
    finally:
        await sim.stop()
