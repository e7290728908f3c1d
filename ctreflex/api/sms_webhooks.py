"""SMS provider webhooks: incoming texts and delivery receipts, signed with the account's auth
token (X-Twilio-Signature over the URL the provider called). Verified, journaled (the one
journal, ctreflex/inbound/journal.py), answered; the processor turns them into rows like a
WhatsApp webhook (ctreflex/inbound/sms.py). Plus the short-lived signed URL, bound to one
outbound SMS waiting for the provider, that the provider fetches an MMS photo from."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from ctreflex import db
from ctreflex.inbound import sms as inbound_sms
from ctreflex.inbound.lane import journal_writer
from ctreflex.services import media, sms
from ctreflex.settings import get_settings
from ctreflex.sms import HEADER, SMSWebhookError, parse_form, verify_signature

router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _called_url(request: Request) -> str:
    """The URL the provider signed: our public base URL + the path (+ the query string)."""
    url = get_settings().base_url + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def _verified_account(kind: str, url: str, body: bytes, signature: str | None) -> int | None:
    params = parse_form(body)
    with db.session_scope() as session:
        found = inbound_sms.webhook_number(session, kind, dict(params))
        if found is None:
            return None
        number, acct = found
        if not verify_signature(acct.auth_token, url, params, signature):
            return None
        return number.account_id


async def _receive(request: Request, kind: str) -> tuple[Response | None, int]:
    body = await request.body()
    try:
        account_id = await asyncio.to_thread(
            _verified_account, kind, _called_url(request), body, request.headers.get(HEADER)
        )
    except SMSWebhookError:
        account_id = None
    if account_id is None:
        return JSONResponse({"error": f"invalid {HEADER}"}, status_code=401), 0
    try:  # committed when this returns; the processor takes it in journal order
        event_id = await journal_writer.write(body, "sms", kind, account_id)
    except Exception:  # noqa: BLE001 - logged by the writer; the provider retries on 5xx
        return JSONResponse({"error": "could not store the event; send it again"},
                            status_code=500), 0
    return None, event_id


@router.post("/webhooks/sms")
async def inbound(request: Request):
    refused, event_id = await _receive(request, "inbound")
    if refused is not None:
        return refused
    # An empty TwiML answer: no automatic reply from here (the agent answers).
    return Response(EMPTY_TWIML, media_type="text/xml", headers={"X-Event-Id": str(event_id)})


@router.post("/webhooks/sms/status")
async def status(request: Request):
    refused, event_id = await _receive(request, "status")
    if refused is not None:
        return refused
    return {"ok": True, "event_id": event_id}


@router.get("/webhooks/sms/media/{media_id}")
def mms_media(media_id: int, t: str = ""):
    """The provider's fetch of an outbound MMS photo: the signed token must name this file and
    an outbound SMS of it that still waits for the provider, within a few minutes
    (services/sms.media_for_provider). Every refusal is the same 403."""
    with db.session_scope() as session:
        row = sms.media_for_provider(session, media_id, t)
        if row is None:
            return JSONResponse({"error": "invalid or expired link"}, status_code=403)
        path = media.absolute_path(row)
        mime = media.inline_type(row, path) or "application/octet-stream"
    if not path.is_file():
        return JSONResponse({"error": "the file is no longer stored"}, status_code=410)
    return FileResponse(
        path,
        media_type=mime,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
