"""WhatsApp webhooks: the GET handshake, and signed POSTs journaled before the 200."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from ctreflex import db
from ctreflex.services import ingest
from ctreflex.services.processor import processor
from ctreflex.settings import get_settings
from ctreflex.whatsapp import verify_handshake, verify_signature

router = APIRouter()


@router.get("/webhooks/whatsapp")
async def handshake(request: Request):
    params = request.query_params
    challenge = verify_handshake(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        get_settings().verify_token.get_secret_value(),
    )
    if challenge is None:
        return PlainTextResponse("Verification token mismatch", status_code=403)
    return PlainTextResponse(challenge)


def _journal(body: bytes) -> int:
    with db.session_scope() as session:
        return ingest.journal(session=session, provider="whatsapp", body=body).id


@router.post("/webhooks/whatsapp")
async def receive(request: Request):
    body = await request.body()
    secret = get_settings().app_secret.get_secret_value()
    if not verify_signature(secret, body, request.headers.get("x-hub-signature-256")):
        return JSONResponse({"error": "invalid X-Hub-Signature-256"}, status_code=401)
    event_id = await asyncio.to_thread(_journal, body)
    processor.notify()
    return {"ok": True, "event_id": event_id}
