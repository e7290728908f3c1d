import io
import json

import httpx
import pytest

from ctreflex.whatsapp import (
    AuthError,
    CloudAPIClient,
    GraphAPIError,
    GraphTransportError,
    InvalidParameterError,
    NotRegisteredError,
    RateLimitError,
    RegistrationRateLimitError,
    ServiceUnavailableError,
    TemplateError,
    WindowClosedError,
    body_params,
    header_document,
    header_image,
    header_text,
)
from ctreflex.whatsapp.models import (
    CopyCodeButtonParam,
    QuickReplyButtonParam,
    UrlButtonParam,
)

pytestmark = pytest.mark.anyio

TOKEN = "EAAG-test-token"
PNID = "200000000000001"
WABA = "100000000000001"
BASE = "https://graph.example.test"


class Graph:
    """Scripted MockTransport: queue responses (or exceptions); records requests."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.queue: list = []

    def add(self, status=200, body=None, *, headers=None, content=None):
        self.queue.append((status, body, headers, content))
        return self

    def fail(self, exc: Exception):
        self.queue.append(exc)
        return self

    async def handler(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        item = self.queue.pop(0) if self.queue else (200, {"success": True}, None, None)
        if isinstance(item, Exception):
            raise item
        status, body, headers, content = item
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    def client(self, **kw) -> CloudAPIClient:
        kw.setdefault("retry_wait_base", 0)
        return CloudAPIClient(
            TOKEN, base_url=BASE, transport=httpx.MockTransport(self.handler), **kw
        )

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self):
        return json.loads(self.last.content)


@pytest.fixture
def graph():
    return Graph()


def send_ok(fixture_json):
    return fixture_json("18")


async def test_send_text_exact_request(graph, fixture_json):
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        res = await wa.send_text(
            PNID,
            "+1 555-010-0142",
            "Hello Maria",
            preview_url=True,
            reply_to="wamid.IN1",
            biz_opaque_callback_data="conv=1",
        )
    req = graph.last
    assert req.method == "POST"
    assert str(req.url) == f"{BASE}/v23.0/{PNID}/messages"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert graph.last_json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15550100142",
        "type": "text",
        "text": {"body": "Hello Maria", "preview_url": True},
        "context": {"message_id": "wamid.IN1"},
        "biz_opaque_callback_data": "conv=1",
    }
    assert res.wamid == "wamid.GAsxNTU1MDEwMDE0MhUCABIYFEZBS0VPVVRUUEwwMDAxMDAwMDAwAA=="
    assert res.wa_id == "15550100142"
    assert res.contacts[0].input == "+15550100142"
    assert res.message_status == "accepted"


async def test_send_text_minimal(graph, fixture_json):
    graph.add(200, fixture_json("18"))
    async with graph.client(api_version="v24.0") as wa:
        await wa.send_text(PNID, "15550100142", "Hi")
    assert str(graph.last.url) == f"{BASE}/v24.0/{PNID}/messages"
    body = graph.last_json()
    assert body["text"] == {"body": "Hi"}
    assert "context" not in body and "biz_opaque_callback_data" not in body


async def test_send_media_bodies(graph, fixture_json):
    for _ in range(3):
        graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_media(PNID, "15550100142", "image", media_id="900", caption="Look")
        assert graph.last_json()["image"] == {"id": "900", "caption": "Look"}
        assert graph.last_json()["type"] == "image"
        await wa.send_media(
            PNID,
            "15550100142",
            "document",
            link="https://x.test/a.pdf",
            filename="a.pdf",
            reply_to="wamid.Q",
        )
        body = graph.last_json()
        assert body["document"] == {"link": "https://x.test/a.pdf", "filename": "a.pdf"}
        assert body["context"] == {"message_id": "wamid.Q"}
        await wa.send_media(PNID, "15550100142", "video", media_id="901")
        assert graph.last_json()["video"] == {"id": "901"}
        with pytest.raises(ValueError):
            await wa.send_media(PNID, "1", "audio", media_id="1")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await wa.send_media(PNID, "1", "image", media_id="1", link="https://x")
        with pytest.raises(ValueError):
            await wa.send_media(PNID, "1", "image")
        with pytest.raises(ValueError):
            await wa.send_media(PNID, "1", "image", media_id="1", filename="x.jpg")
    assert len(graph.requests) == 3


async def test_send_reaction(graph, fixture_json):
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_reaction(PNID, "15550100142", "wamid.X", "👍")
    body = graph.last_json()
    assert body["type"] == "reaction"
    assert body["reaction"] == {"message_id": "wamid.X", "emoji": "👍"}


async def test_send_template_components(graph, fixture_json):
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        res = await wa.send_template(
            PNID,
            "15550100142",
            name="spring_whitening_offer",
            language="en_US",
            components=[
                header_image(media_id="4490"),
                body_params("Maria", "March 31", "20%"),
                UrlButtonParam(index=0, suffix="SPRING20"),
                QuickReplyButtonParam(index=1, payload="REMIND"),
                CopyCodeButtonParam(index=2, coupon_code="WELCOME10"),
            ],
            reply_to="wamid.CTX",
        )
    assert res.message_status == "accepted"
    body = graph.last_json()
    assert body["type"] == "template"
    assert body["context"] == {"message_id": "wamid.CTX"}
    assert body["template"] == {
        "name": "spring_whitening_offer",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "4490"}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Maria"},
                    {"type": "text", "text": "March 31"},
                    {"type": "text", "text": "20%"},
                ],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "SPRING20"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "1",
                "parameters": [{"type": "payload", "payload": "REMIND"}],
            },
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "2",
                "parameters": [{"type": "coupon_code", "coupon_code": "WELCOME10"}],
            },
        ],
    }


async def test_send_template_named_and_header_variants(graph, fixture_json):
    graph.add(200, fixture_json("18")).add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_template(
            PNID,
            "15550100142",
            name="order_ready",
            language="en_US",
            components=[
                header_text("Fri 9 Jan", parameter_name="day"),
                body_params(customer_name="Ana", order_id="#4411"),
            ],
        )
        comps = graph.last_json()["template"]["components"]
        assert comps == [
            {
                "type": "header",
                "parameters": [{"type": "text", "text": "Fri 9 Jan", "parameter_name": "day"}],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "customer_name", "text": "Ana"},
                    {"type": "text", "parameter_name": "order_id", "text": "#4411"},
                ],
            },
        ]
        await wa.send_template(
            PNID,
            "15550100142",
            name="doc",
            language="en_GB",
            components=[header_document(link="https://x.test/f.pdf", filename="f.pdf")],
        )
        assert graph.last_json()["template"]["components"] == [
            {
                "type": "header",
                "parameters": [
                    {
                        "type": "document",
                        "document": {"link": "https://x.test/f.pdf", "filename": "f.pdf"},
                    }
                ],
            }
        ]
    with pytest.raises(ValueError):
        header_image()


async def test_send_template_without_components(graph, fixture_json):
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_template(PNID, "1555", name="hello_world", language="en_US")
    assert graph.last_json()["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


async def test_mark_read(graph):
    graph.add(200, {"success": True}).add(200, {"success": True})
    async with graph.client() as wa:
        assert await wa.mark_read(PNID, "wamid.IN") is True
        assert graph.last_json() == {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.IN",
        }
        assert await wa.mark_read(PNID, "wamid.IN", typing_indicator=True) is True
        assert graph.last_json()["typing_indicator"] == {"type": "text"}
    assert str(graph.last.url) == f"{BASE}/v23.0/{PNID}/messages"


# ---------------------------------------------------------------------------- media


def _multipart(req: httpx.Request) -> dict[str, tuple[dict[str, str], bytes]]:
    ctype = req.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = req.content.split(b"--" + boundary)
    assert parts[-1].strip() == b"--"
    out = {}
    for part in parts[1:-1]:
        head, _, data = part[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
        disp = headers["Content-Disposition"]
        name = disp.split('name="', 1)[1].split('"', 1)[0]
        out[name] = (headers, data[:-2])  # strip trailing CRLF
    return out


@pytest.mark.parametrize("kind", ["bytes", "file", "path", "async"])
async def test_upload_media(graph, kind, tmp_path):
    payload = b"%PDF-1.7\n" + bytes(range(256)) * 5000
    if kind == "bytes":
        data = payload
    elif kind == "file":
        data = io.BytesIO(payload)
    elif kind == "path":
        data = tmp_path / "claim.pdf"
        data.write_bytes(payload)
    else:

        async def gen():
            for i in range(0, len(payload), 100_000):
                yield payload[i : i + 100_000]

        data = gen()
    graph.add(200, {"id": "1234567890"})
    async with graph.client() as wa:
        media_id = await wa.upload_media(PNID, data, "application/pdf", 'claim "form".pdf')
    assert media_id == "1234567890"
    req = graph.last
    assert str(req.url) == f"{BASE}/v23.0/{PNID}/media"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    if kind != "async":
        assert int(req.headers["content-length"]) == len(req.content)
    parts = _multipart(req)
    assert parts["messaging_product"][1] == b"whatsapp"
    assert parts["type"][1] == b"application/pdf"
    fheaders, fdata = parts["file"]
    assert fdata == payload
    assert fheaders["Content-Type"] == "application/pdf"
    assert 'filename="claim %22form%22.pdf"' in fheaders["Content-Disposition"]


async def test_upload_file_rewound_on_retry(graph):
    payload = b"\x89PNG\r\n\x1a\n" + b"x" * 1000
    graph.add(503, {"error": {"code": 131016, "message": "(#131016) Service unavailable"}})
    graph.add(200, {"id": "77"})
    async with graph.client() as wa:
        assert await wa.upload_media(PNID, io.BytesIO(payload), "image/png", "a.png") == "77"
    assert len(graph.requests) == 2
    assert _multipart(graph.requests[1])["file"][1] == payload


async def test_get_download_stream_delete_media(graph):
    info = {
        "messaging_product": "whatsapp",
        "url": "https://lookaside.test/m?mid=1",
        "mime_type": "image/jpeg",
        "sha256": "abc",
        "file_size": "6",
        "id": "900",
    }
    graph.add(200, info)
    graph.add(200, content=b"\xff\xd8\xffabc")
    graph.add(200, content=b"0123456789" * 10_000)
    graph.add(200, {"success": True})
    async with graph.client() as wa:
        mi = await wa.get_media("900", phone_number_id=PNID)
        assert str(graph.last.url) == f"{BASE}/v23.0/900?phone_number_id={PNID}"
        assert (mi.id, mi.url, mi.mime_type, mi.sha256, mi.file_size) == (
            "900",
            "https://lookaside.test/m?mid=1",
            "image/jpeg",
            "abc",
            6,
        )
        data = await wa.download_media(mi.url)
        assert data == b"\xff\xd8\xffabc"
        assert str(graph.last.url) == "https://lookaside.test/m?mid=1"
        assert graph.last.headers["authorization"] == f"Bearer {TOKEN}"
        chunks = [c async for c in wa.stream_media(mi.url)]
        assert b"".join(chunks) == b"0123456789" * 10_000
        assert graph.last.headers["authorization"] == f"Bearer {TOKEN}"
        assert await wa.delete_media("900") is True
        assert graph.last.method == "DELETE"
        assert str(graph.last.url) == f"{BASE}/v23.0/900"


async def test_download_expired_url_raises(graph):
    graph.add(404, content=b"Not found")
    async with graph.client() as wa:
        with pytest.raises(GraphAPIError) as ei:
            await wa.download_media("https://lookaside.test/m?mid=old")
    assert ei.value.http_status == 404


async def test_relative_media_url_resolved(graph):
    graph.add(200, content=b"abc")
    async with graph.client() as wa:
        assert await wa.download_media("/media/abc") == b"abc"
    assert str(graph.last.url) == f"{BASE}/media/abc"


# ---------------------------------------------------------------------------- templates


def _page(names, after=None):
    body = {
        "data": [
            {
                "id": str(i),
                "name": n,
                "language": "en_US",
                "status": "APPROVED",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Hi"}],
            }
            for i, n in enumerate(names)
        ],
        "paging": {"cursors": {"before": "b", "after": after or "last"}},
    }
    if after:
        body["paging"]["next"] = (
            f"https://elsewhere.test/v23.0/{WABA}/message_templates?after={after}"
        )
    return body


async def test_list_templates_three_pages(graph):
    graph.add(200, _page(["a", "b"], after="C1"))
    graph.add(200, _page(["c", "d"], after="C2"))
    graph.add(200, _page(["e"]))
    async with graph.client() as wa:
        templates = await wa.list_templates(WABA, limit=2, status="APPROVED", category="UTILITY")
    assert [t.name for t in templates] == ["a", "b", "c", "d", "e"]
    assert len(graph.requests) == 3
    for req in graph.requests:  # always our own base URL, never paging.next's host
        assert req.url.host == "graph.example.test"
        assert req.url.path == f"/v23.0/{WABA}/message_templates"
        assert req.url.params["limit"] == "2"
        assert req.url.params["status"] == "APPROVED"
        assert req.url.params["category"] == "UTILITY"
        assert "components" in req.url.params["fields"]
    assert "after" not in graph.requests[0].url.params
    assert graph.requests[1].url.params["after"] == "C1"
    assert graph.requests[2].url.params["after"] == "C2"


async def test_templates_fixture_16(graph, fixture_json):
    graph.add(200, fixture_json("16"))
    graph.add(200, {"data": [], "paging": {"cursors": {}}})
    async with graph.client() as wa:
        names = [t.name async for t in wa.iter_templates(WABA)]
    assert names == [
        "spring_whitening_offer",
        "appointment_reminder",
        "referral_credit_code",
        "missed_call_followup",
    ]
    assert graph.requests[1].url.params["after"] == "QVFIU0ZAKRV9uZAXh0X3BhZAZAlX2N1cnNvcgZDZD"


# ---------------------------------------------------------------------------- phone numbers


async def test_phone_numbers(graph, fixture_json):
    graph.add(200, fixture_json("17"))
    graph.add(200, fixture_json("17")["data"][0])
    async with graph.client() as wa:
        numbers = await wa.list_phone_numbers(WABA)
        assert str(graph.last.url).startswith(f"{BASE}/v23.0/{WABA}/phone_numbers?fields=")
        fields = set(graph.last.url.params["fields"].split(","))
        assert {
            "id",
            "display_phone_number",
            "verified_name",
            "code_verification_status",
            "quality_rating",
            "platform_type",
            "throughput",
            "name_status",
            "status",
            "account_mode",
            "messaging_limit_tier",
            "is_official_business_account",
        } <= fields
        one = await wa.get_phone_number(PNID)
        assert graph.last.url.path == f"/v23.0/{PNID}"
        assert set(graph.last.url.params["fields"].split(",")) == fields
    assert [n.id for n in numbers] == ["200000000000001", "200000000000002"]
    n = numbers[0]
    assert n.display_phone_number == "+1 555-010-0100"
    assert n.verified_name == "Acme Dental"
    assert n.throughput_level == "STANDARD"
    assert n.messaging_limit_tier == "TIER_2K"
    assert n.is_official_business_account is False
    assert numbers[1].messaging_limit_tier is None
    assert numbers[1].name_status == "PENDING_REVIEW"
    assert one == n


async def test_registration_flow(graph):
    graph.add(200, {"id": "200000000000003"})
    for _ in range(4):
        graph.add(200, {"success": True})
    async with graph.client() as wa:
        pnid = await wa.add_phone_number(WABA, "1", "5550100111", "Acme Dental")
        assert pnid == "200000000000003"
        assert graph.last.url.path == f"/v23.0/{WABA}/phone_numbers"
        assert graph.last_json() == {
            "cc": "1",
            "phone_number": "5550100111",
            "verified_name": "Acme Dental",
        }
        assert await wa.request_code(pnid, "VOICE", language="en") is True
        assert graph.last.url.path == f"/v23.0/{pnid}/request_code"
        assert graph.last_json() == {"code_method": "VOICE", "language": "en"}
        assert await wa.verify_code(pnid, "123456") is True
        assert graph.last_json() == {"code": "123456"}
        assert await wa.register(pnid, "654321", data_localization_region="DE") is True
        assert graph.last.url.path == f"/v23.0/{pnid}/register"
        assert graph.last_json() == {
            "messaging_product": "whatsapp",
            "pin": "654321",
            "data_localization_region": "DE",
        }
        assert await wa.deregister(pnid) is True
        assert graph.last.url.path == f"/v23.0/{pnid}/deregister"
        with pytest.raises(ValueError):
            await wa.request_code(pnid, "FAX")  # type: ignore[arg-type]


async def test_registration_errors(graph):
    graph.add(400, {"error": {"code": 133016, "message": "(#133016) limit"}})
    graph.add(400, {"error": {"code": 133010, "message": "(#133010) not registered"}})
    async with graph.client() as wa:
        with pytest.raises(RegistrationRateLimitError):
            await wa.register(PNID, "123456")
        with pytest.raises(NotRegisteredError):
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 2


# ---------------------------------------------------------------------------- errors / retries


def _err(code, status=400, msg="x", **extra):
    return status, {
        "error": {
            "code": code,
            "message": f"({code}) {msg}",
            "type": "OAuthException",
            "fbtrace_id": "TR",
            **extra,
        }
    }


async def test_retry_on_500_then_success(graph, fixture_json):
    graph.add(500, content=b"Internal Server Error")
    graph.add(*_err(131016, 503))
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        res = await wa.send_text(PNID, "1555", "hi")
    assert res.wamid.startswith("wamid.")
    assert len(graph.requests) == 3
    assert graph.requests[0].content == graph.requests[2].content


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (131047, 400, WindowClosedError),
        (100, 400, InvalidParameterError),
        (190, 401, AuthError),
        (132000, 400, TemplateError),
        (4, 400, RateLimitError),
        (131056, 400, RateLimitError),
    ],
)
async def test_no_retry_on_client_errors(graph, code, status, cls):
    graph.add(*_err(code, status))
    async with graph.client() as wa:
        with pytest.raises(cls) as ei:
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 1
    assert ei.value.code == code and ei.value.http_status == status
    assert ei.value.fbtrace_id == "TR"


async def test_fixture_errors_raised_typed(graph, fixture_json):
    graph.add(400, fixture_json("19"))
    async with graph.client() as wa:
        with pytest.raises(WindowClosedError) as ei:
            await wa.send_text(PNID, "447700900123", "hi")
    assert ei.value.details.startswith("Not sent")
    assert ei.value.fbtrace_id == "AfAKEtRace0000000001"


async def test_130429_retried_then_ok(graph, fixture_json):
    graph.add(429, fixture_json("20"))
    graph.add(400, fixture_json("20"), headers={"Retry-After": "0"})
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        res = await wa.send_text(PNID, "1555", "hi")
    assert res.message_status == "accepted"
    assert len(graph.requests) == 3


async def test_130429_gives_up_after_max_retries(graph, fixture_json):
    for _ in range(5):
        graph.add(429, fixture_json("20"))
    async with graph.client(max_retries=2) as wa:
        with pytest.raises(RateLimitError) as ei:
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 3
    assert ei.value.code == 130429


async def test_131000_retried_once_only(graph):
    for _ in range(3):
        graph.add(*_err(131000, 500))
    async with graph.client() as wa:
        with pytest.raises(ServiceUnavailableError):
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 2


async def test_131057_retried(graph, fixture_json):
    graph.add(*_err(131057, 400)).add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 2


async def test_connect_error_retried_for_send(graph, fixture_json):
    graph.fail(httpx.ConnectError("refused"))
    graph.add(200, fixture_json("18"))
    async with graph.client() as wa:
        await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 2


async def test_read_timeout_not_retried_for_send(graph):
    graph.fail(httpx.ReadTimeout("slow"))
    async with graph.client() as wa:
        with pytest.raises(GraphTransportError) as ei:
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 1
    assert ei.value.request_sent is None
    assert isinstance(ei.value.cause, httpx.ReadTimeout)


async def test_read_timeout_retried_for_get(graph):
    graph.fail(httpx.ReadTimeout("slow"))
    graph.add(200, {"id": "900", "url": "https://x"})
    async with graph.client() as wa:
        mi = await wa.get_media("900")
    assert mi.id == "900"
    assert len(graph.requests) == 2


async def test_transport_error_after_retries(graph):
    for _ in range(4):
        graph.fail(httpx.ConnectError("down"))
    async with graph.client(max_retries=3) as wa:
        with pytest.raises(GraphTransportError) as ei:
            await wa.get_phone_number(PNID)
    assert ei.value.request_sent is False
    assert len(graph.requests) == 4


async def test_max_retries_zero(graph):
    graph.add(500, content=b"oops")
    async with graph.client(max_retries=0) as wa:
        with pytest.raises(ServiceUnavailableError):
            await wa.get_phone_number(PNID)
    assert len(graph.requests) == 1


async def test_non_json_error_body(graph):
    graph.add(404, content=b"<html>nope</html>", headers={"content-type": "text/html"})
    async with graph.client() as wa:
        with pytest.raises(GraphAPIError) as ei:
            await wa.get_phone_number(PNID)
    assert ei.value.http_status == 404 and ei.value.code is None
    assert "nope" in ei.value.message


async def test_error_in_200_body_raised(graph):
    graph.add(200, {"error": {"code": 100, "message": "(#100) bad"}})
    async with graph.client() as wa:
        with pytest.raises(InvalidParameterError):
            await wa.get_phone_number(PNID)


async def test_repr_hides_token(graph):
    wa = graph.client()
    assert TOKEN not in repr(wa)
    await wa.aclose()
    with pytest.raises(ValueError):
        CloudAPIClient("")


async def test_base_url_with_prefix():
    seen = []

    async def handler(req):
        seen.append(str(req.url))
        return httpx.Response(200, json={"success": True})

    async with CloudAPIClient(
        TOKEN, base_url="http://127.0.0.1:8001/sim/graph/", transport=httpx.MockTransport(handler)
    ) as wa:
        await wa.mark_read(PNID, "wamid.1")
    assert seen == [f"http://127.0.0.1:8001/sim/graph/v23.0/{PNID}/messages"]


async def test_retry_after_header_wins_over_backoff(graph, fixture_json):
    graph.add(429, fixture_json("20"), headers={"Retry-After": "0"})
    graph.add(200, fixture_json("18"))
    async with graph.client(retry_wait_base=30) as wa:  # would wait 30 s without the header
        with anyio_fail_after(5):
            await wa.send_text(PNID, "1555", "hi")
    assert len(graph.requests) == 2


async def test_is_transient_flag_retried(graph):
    graph.add(400, {"error": {"code": 999001, "message": "odd", "is_transient": True}})
    graph.add(200, {"id": "200", "display_phone_number": "+1"})
    async with graph.client() as wa:
        pn = await wa.get_phone_number(PNID)
    assert pn.id == "200" and len(graph.requests) == 2


async def test_async_iterable_upload_never_retried(graph):
    graph.add(500, content=b"boom")

    async def gen():
        yield b"%PDF-1.4 abc"

    async with graph.client() as wa:
        with pytest.raises(ServiceUnavailableError):
            await wa.upload_media(PNID, gen(), "application/pdf", "a.pdf")
    assert len(graph.requests) == 1


async def test_stream_media_early_exit(graph):
    graph.add(200, content=b"x" * 200_000)
    async with graph.client() as wa:
        stream = wa.stream_media("https://lookaside.test/m?mid=2")
        first = await stream.__anext__()
        await stream.aclose()
    assert first


def anyio_fail_after(seconds):
    import anyio

    return anyio.fail_after(seconds)
