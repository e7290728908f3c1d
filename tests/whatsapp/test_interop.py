"""The client against a real ASGI app (FastAPI + python-multipart), as the simulator runs."""

import hashlib
import io

import httpx
import pytest

from ctreflex.whatsapp import CloudAPIClient, normalize_recipient

fastapi = pytest.importorskip("fastapi")

pytestmark = pytest.mark.anyio


def make_app():
    from fastapi import FastAPI, File, Form, Header, Request, UploadFile
    from fastapi.responses import JSONResponse, Response

    app = FastAPI()
    store: dict[str, tuple[bytes, str, str]] = {}

    @app.post("/v23.0/{pnid}/media")
    async def upload(
        pnid: str,
        file: UploadFile = File(...),
        type: str = Form(...),
        messaging_product: str = Form(...),
        authorization: str = Header(...),
    ):
        assert authorization == "Bearer T"
        assert messaging_product == "whatsapp"
        data = await file.read()
        media_id = str(1000 + len(store))
        store[media_id] = (data, type, file.filename or "")
        return {"id": media_id}

    @app.get("/v23.0/{media_id}")
    async def info(media_id: str, request: Request):
        data, mime, _ = store[media_id]
        return {
            "messaging_product": "whatsapp",
            "url": str(request.base_url) + f"dl/{media_id}",
            "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data),
            "id": media_id,
        }

    @app.get("/dl/{media_id}")
    async def download(media_id: str, authorization: str | None = Header(None)):
        if authorization != "Bearer T":
            return JSONResponse({"error": {"code": 190, "message": "no"}}, status_code=401)
        return Response(store[media_id][0], media_type=store[media_id][1])

    return app, store


async def test_upload_then_download_roundtrip():
    app, store = make_app()
    payload = b"%PDF-1.7\n" + bytes(range(256)) * 8000  # ~2 MB
    transport = httpx.ASGITransport(app=app)
    async with CloudAPIClient("T", base_url="http://sim", transport=transport) as wa:
        mid1 = await wa.upload_media("200", payload, "application/pdf", "Prüfung.pdf")
        mid2 = await wa.upload_media("200", io.BytesIO(payload), "application/pdf", "b.pdf")

        async def gen():
            for i in range(0, len(payload), 300_000):
                yield payload[i : i + 300_000]

        mid3 = await wa.upload_media("200", gen(), "application/pdf", "c.pdf")
        for mid in (mid1, mid2, mid3):
            assert store[mid][0] == payload
            info = await wa.get_media(mid)
            assert info.file_size == len(payload)
            assert info.sha256 == hashlib.sha256(payload).hexdigest()
            assert await wa.download_media(info.url) == payload
    assert store[mid1][2] == "Prüfung.pdf"
    assert store[mid1][1] == "application/pdf"


def test_normalize_recipient():
    assert normalize_recipient("+1 (555) 010-0142") == "15550100142"
    assert normalize_recipient("447700900123") == "447700900123"
    assert normalize_recipient("US.13491208655302741918") == "US.13491208655302741918"
