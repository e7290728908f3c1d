"""The simulator's ASGI app: the provider's REST API and a control API for tests and demos.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json     send (form: To, From, Body,
                                                          MediaUrl…, StatusCallback)
GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
GET  /media/{MediaSid}                                    a customer's MMS file
POST /control/customers/{number}/messages                 a customer texts (STOP, START…)
GET|PUT /control/customers/{number}                       carrier_error, unsubscribed_from
GET  /control/outbox  ?to= &from=                         what the business sent
GET  /control/messages, /control/webhooks, /control/seed
POST /control/webhooks/retry, /control/reset
PUT  /control/faults                                      webhook_paused, fail_next_webhooks
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from ctreflex.sms_simulator.records import API_VERSION, ProviderError, normalise

if TYPE_CHECKING:
    from ctreflex.sms_simulator.core import SmsSimulator


def build_app(sim: SmsSimulator) -> FastAPI:
    app = FastAPI(title="SMS provider simulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(ProviderError)
    async def provider_error(_: Request, exc: ProviderError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    api = APIRouter(prefix=f"/{API_VERSION}/Accounts/{{account_sid}}")

    @api.post("/Messages.json")
    async def create_message(account_sid: str, request: Request) -> JSONResponse:
        account = sim.authenticate(account_sid, request.headers.get("authorization"))
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            form = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
        except ValueError:
            raise ProviderError(21602, "The request body is not form-encoded.") from None
        message = sim.accept(sim.validate(account, form))
        return JSONResponse(message.resource(), status_code=201)

    @api.get("/Messages/{sid}.json")
    async def fetch_message(account_sid: str, sid: str, request: Request) -> JSONResponse:
        sim.authenticate(account_sid, request.headers.get("authorization"))
        message = sim.find(sid)
        if message is None or message.account_sid != account_sid:
            raise ProviderError(
                20404, f"The requested resource {request.url.path} was not found", 404
            )
        return JSONResponse(message.resource())

    app.include_router(api)

    @app.get("/media/{media_sid}")
    async def media(media_sid: str) -> Response:
        item = sim.media.get(media_sid)
        if item is None:
            raise ProviderError(20404, "The requested media was not found", 404)
        return Response(item[1], media_type=item[0])

    control = APIRouter(prefix="/control")

    @control.post("/customers/{number}/messages")
    async def customer_texts(number: str, payload: dict[str, Any]) -> dict[str, Any]:
        media = payload.get("media") or []
        if not media and int(payload.get("num_media") or 0):
            media = [{"content_type": "image/png"}] * int(payload["num_media"])
        message = sim.customer_texts(
            number, body=str(payload.get("body") or ""), to=payload.get("to"), media=media
        )
        return {
            "sid": message.sid,
            "to": message.to,
            "from": message.from_,
            "media_urls": message.media_urls,
            "unsubscribed": message.to in sim.customer(number).unsubscribed_from,
        }

    @control.get("/customers/{number}")
    async def customer(number: str) -> dict[str, Any]:
        who = sim.customer(number)
        chat = [m.control_view() for m in sim.messages if who.number in (m.to, m.from_)]
        return {**who.view(), "messages": chat}

    @control.put("/customers/{number}")
    async def update_customer(number: str, payload: dict[str, Any]) -> dict[str, Any]:
        who = sim.customer(number)
        if "carrier_error" in payload:
            code = payload["carrier_error"]
            who.carrier_error = int(code) if code else None
        if "unsubscribed_from" in payload:
            who.unsubscribed_from = {normalise(n) for n in payload["unsubscribed_from"] or []}
        return who.view()

    @control.get("/outbox")
    async def outbox(
        to: str | None = None, from_: str | None = Query(None, alias="from")
    ) -> dict[str, Any]:
        rows = [m for m in sim.messages if m.direction != "inbound"]
        if to:
            rows = [m for m in rows if m.to == normalise(to)]
        if from_:
            rows = [m for m in rows if m.from_ == normalise(from_)]
        return {"messages": [m.control_view() for m in rows]}

    @control.get("/messages")
    async def messages() -> dict[str, Any]:
        return {"messages": [m.control_view() for m in sim.messages]}

    @control.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        return {
            "deliveries": [d.view() for d in sim.deliveries],
            "pending": sum(d.state == "pending" for d in sim.deliveries),
        }

    @control.post("/webhooks/retry")
    async def retry() -> dict[str, Any]:
        return {"retried": await sim.retry_now()}

    @control.put("/faults")
    async def faults(payload: dict[str, Any]) -> dict[str, Any]:
        if "webhook_paused" in payload:
            sim.webhook_paused = bool(payload["webhook_paused"])
        if "fail_next_webhooks" in payload:
            sim.fail_next_webhooks = int(payload["fail_next_webhooks"] or 0)
        return {"webhook_paused": sim.webhook_paused, "fail_next_webhooks": sim.fail_next_webhooks}

    @control.post("/reset")
    async def reset() -> dict[str, Any]:
        sim.reset()
        return {"ok": True}

    @control.get("/seed")
    async def seed() -> dict[str, Any]:
        return sim.seed_view()

    app.include_router(control)
    return app
