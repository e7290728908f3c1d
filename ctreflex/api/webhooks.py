"""WhatsApp webhooks: the GET handshake. The signed POSTs are answered by the webhook lane
(ctreflex/inbound/lane.py, ASGI middleware added in ctreflex/api/__init__.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from ctreflex.settings import get_settings
from ctreflex.whatsapp import verify_handshake

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
