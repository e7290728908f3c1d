"""Control API (``/control/...``): drive the simulated customers and inspect the simulator."""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from . import rules
from .errors import GraphError, invalid_param
from .graph import error_response
from .seed import DEMO_PNID, SEED_PIN
from .state import ChatMessage, Customer, Faults, PendingCode, Side

if TYPE_CHECKING:
    from .core import Simulator


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise GraphError(100, f"The request body could not be parsed as JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise invalid_param("body", "The request body must be a JSON object.")
    return data


def _outbound_text(msg: ChatMessage) -> str | None:
    p = msg.payload.get(msg.type) if isinstance(msg.payload, dict) else None
    if msg.type == "text" and isinstance(p, dict):
        return str(p.get("body", ""))
    if msg.type in ("image", "video", "document") and isinstance(p, dict):
        return p.get("caption")
    if msg.type == "reaction" and isinstance(p, dict):
        return p.get("emoji")
    if msg.type == "location" and isinstance(p, dict):
        return f"📍 {p.get('name') or ''} {p.get('latitude')}, {p.get('longitude')}".strip()
    if msg.type == "interactive" and isinstance(p, dict):
        return str((p.get("body") or {}).get("text", "[interactive message]"))
    if msg.type == "contacts":
        return "[contact card]"
    return None


def _inbound_text(msg: ChatMessage) -> str | None:
    p = msg.payload
    t = msg.type
    obj = p.get(t) if isinstance(p.get(t), dict) else {}
    if t == "text":
        return obj.get("body")
    if t in ("image", "video", "document"):
        return obj.get("caption")
    if t == "button":
        return obj.get("text")
    if t == "interactive":
        inner = obj.get(obj.get("type", ""), {})
        return inner.get("title")
    if t == "reaction":
        return obj.get("emoji")
    if t == "location":
        return f"📍 {obj.get('latitude')}, {obj.get('longitude')}"
    if t == "system":
        return obj.get("body")
    if t == "order":
        return obj.get("text")
    if t == "contacts":
        return "[contact card]"
    if t == "unsupported":
        return "[unsupported message]"
    if t == "audio":
        return "[voice message]" if obj.get("voice") else "[audio]"
    if t == "sticker":
        return "[sticker]"
    return None


def render_message(sim: Simulator, msg: ChatMessage, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "wamid": msg.wamid,
        "direction": msg.direction,
        "phone_number_id": msg.pnid,
        "wa_id": msg.wa_id,
        "type": msg.type,
        "timestamp": msg.timestamp,
        "status": msg.status,
        "status_times": msg.status_times,
    }
    if msg.direction == Side.OUT:
        out["text"] = _outbound_text(msg)
        ctx = msg.payload.get("context") if isinstance(msg.payload, dict) else None
        if isinstance(ctx, dict):
            out["reply_to"] = ctx.get("message_id")
        if msg.type == "reaction":
            out["reaction_to"] = (msg.payload.get("reaction") or {}).get("message_id")
        if msg.rendered:
            out["template"] = msg.rendered
        if msg.type == "document":
            out["filename"] = (msg.payload.get("document") or {}).get("filename")
        out["errors"] = msg.errors
        out["pricing"] = msg.pricing
    else:
        out["text"] = _inbound_text(msg)
        ctx = msg.payload.get("context")
        if isinstance(ctx, dict) and ctx.get("id"):
            out["reply_to"] = ctx["id"]
        if msg.type == "reaction":
            out["reaction_to"] = (msg.payload.get("reaction") or {}).get("message_id")
        if msg.type == "document":
            out["filename"] = (msg.payload.get("document") or {}).get("filename")
        out["read_by_business"] = msg.read_by_business
        out["payload"] = msg.payload
    if msg.media_id and msg.media_id in sim.state.media:
        media = sim.state.media[msg.media_id]
        out["media"] = {"id": media.id, "mime_type": media.mime_type,
                        "url": f"{base}/control/media/{media.id}"}
    return out


def build_control_router(sim: Simulator) -> APIRouter:
    r = APIRouter(prefix="/control")

    def base_of(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def wrap(fn: Any) -> Any:
        async def handler(request: Request) -> Response:
            try:
                result = await fn(request)
            except GraphError as err:
                return error_response(err)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        handler.__name__ = fn.__name__
        return handler

    def route(path: str, methods: list[str]) -> Any:
        def deco(fn: Any) -> Any:
            r.add_api_route(path, wrap(fn), methods=methods, include_in_schema=False)
            return fn

        return deco

    # ---- inspection ----------------------------------------------------------------------
    @route("/health", ["GET"])
    async def health(_: Request) -> dict[str, Any]:
        return {"ok": True, "worker_running": sim.dispatcher.running,
                "pending_webhooks": len(sim.dispatcher.pending())}

    @route("/seed", ["GET"])
    async def seed(_: Request) -> dict[str, Any]:
        # No access token, app secret or verify token: the app and the simulator share them
        # through settings; a control response never hands out a credential.
        st = sim.state
        return {
            "wabas": [{
                "id": w.id, "name": w.name,
                "phone_numbers": [{
                    "id": pn.id, "display_phone_number": pn.display_phone_number,
                    "digits": pn.digits, "verified_name": pn.verified_name,
                    "registered": pn.registered, "status": pn.status,
                    "code_verification_status": pn.code_verification_status,
                } for pn in st.phone_numbers.values() if pn.waba_id == w.id],
            } for w in st.wabas.values()],
            "customers": [{"wa_id": c.wa_id, "profile_name": c.profile_name}
                          for c in st.customers.values()],
            "webhook_url": sim.config.webhook_url,
            "graph_base_url": sim.config.public_base_url,
            "two_step_pin": SEED_PIN,
            "verification_codes": _codes(),
        }

    def _codes() -> dict[str, Any]:
        now = sim.now()
        return {pn.id: {"code": pn.pending_code.code, "method": pn.pending_code.method,
                        "language": pn.pending_code.language,
                        "expires_at": int(pn.pending_code.expires_at),
                        "expired": now > pn.pending_code.expires_at}
                for pn in sim.state.phone_numbers.values() if pn.pending_code}

    @route("/codes", ["GET"])
    async def codes(_: Request) -> dict[str, Any]:
        return {"codes": _codes()}

    @route("/phone_numbers/{pnid}/verification_code", ["GET", "POST"])
    async def verification_code(request: Request) -> dict[str, Any]:
        pnid = request.path_params["pnid"]
        pn = sim.state.phone_numbers.get(pnid)
        if pn is None:
            raise invalid_param("pnid", f"Unknown phone number id {pnid}")
        if request.method == "POST":
            body = await _json(request)
            code = str(body.get("code") or f"{secrets.randbelow(1_000_000):06d}")
            ttl = float(body.get("expires_in", 600))
            pn.pending_code = PendingCode(code=code, expires_at=sim.now() + ttl,
                                          method=str(body.get("method", "SMS")),
                                          language=str(body.get("language", "en_US")))
            sim.mark_dirty()
        if pn.pending_code is None:
            return {"phone_number_id": pnid, "code": None}
        return {"phone_number_id": pnid, "code": pn.pending_code.code,
                "expires_at": int(pn.pending_code.expires_at),
                "expired": sim.now() > pn.pending_code.expires_at}

    @route("/webhooks", ["GET"])
    async def webhooks(request: Request) -> dict[str, Any]:
        q = request.query_params
        items = list(reversed(sim.state.deliveries))
        if q.get("state"):
            items = [d for d in items if d.state == q["state"]]
        if q.get("kind"):
            items = [d for d in items if d.kind == q["kind"]]
        limit = int(q.get("limit") or 100)
        return {
            "webhook_url": sim.config.webhook_url,
            "pending": len(sim.dispatcher.pending()),
            "paused": sim.state.faults.webhook_paused,
            "deliveries": [{
                "id": d.id, "kind": d.kind, "summary": d.summary, "state": d.state,
                "created_at": d.created_at, "next_attempt_at": d.next_attempt_at,
                "attempts": d.attempts, "body": json.loads(d.body),
            } for d in items[:limit]],
        }

    @route("/webhooks/retry", ["POST"])
    async def retry_now(_: Request) -> dict[str, Any]:
        now = time.time()
        pending = sim.dispatcher.pending()
        for d in pending:
            d.next_attempt_at = now
        sim.dispatcher.wake()
        return {"retrying": len(pending)}

    @route("/outbox", ["GET"])
    async def outbox(request: Request) -> dict[str, Any]:
        q = request.query_params
        to = rules.normalise_to(q["to"]) if q.get("to") else None
        items = []
        for m in sim.state.messages:
            if m.direction != Side.OUT:
                continue
            if to and m.wa_id != to:
                continue
            if q.get("phone_number_id") and m.pnid != q["phone_number_id"]:
                continue
            items.append({
                "wamid": m.wamid, "phone_number_id": m.pnid, "to": m.wa_id, "type": m.type,
                "request": m.payload, "status": m.status, "status_times": m.status_times,
                "errors": m.errors, "pricing": m.pricing, "timestamp": m.timestamp,
                "template": m.rendered,
            })
        return {"messages": items}

    @route("/media/{media_id}", ["GET"])
    async def media(request: Request) -> Response:
        m = sim.state.media.get(request.path_params["media_id"])
        if m is None or m.deleted:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(m.data, media_type=m.mime_type)

    # ---- faults, reset, clock ------------------------------------------------------------
    @route("/faults", ["GET", "PUT"])
    async def faults(request: Request) -> dict[str, Any]:
        f = sim.state.faults
        if request.method == "PUT":
            body = await _json(request)
            if "count" in body:
                body["force_error_count"] = body.pop("count")
            known = set(Faults.__dataclass_fields__)
            unknown = set(body) - known
            if unknown:
                raise invalid_param(",".join(sorted(unknown)),
                                    f"Unknown fault settings: {', '.join(sorted(unknown))}")
            for key, value in body.items():
                current = getattr(f, key)
                try:
                    if isinstance(current, bool) or key in ("shuffle_webhooks",
                                                            "webhook_paused",
                                                            "force_error_async",
                                                            "skip_delivered"):
                        value = bool(value)
                    elif key in ("error_rate", "drop_webhooks", "duplicate_webhooks"):
                        value = float(value)
                        if not 0 <= value <= 1:
                            raise ValueError
                    elif key in ("latency_ms", "hang_after_accept_ms"):
                        value = int(value)
                        if value < 0:
                            raise ValueError
                    elif key in ("force_error_code", "force_error_count",
                                 "hang_after_accept_count"):
                        value = None if value is None else int(value)
                    elif key == "force_error_scope" and value not in ("messages", "all"):
                        raise ValueError
                except (TypeError, ValueError):
                    raise invalid_param(key, f"Invalid value for {key}: {value!r}") from None
                setattr(f, key, value)
            sim.mark_dirty()
            sim.dispatcher.wake()
        return {k: getattr(f, k) for k in Faults.__dataclass_fields__}

    @route("/reset", ["POST"])
    async def reset(_: Request) -> dict[str, Any]:
        sim.reset()
        return {"ok": True}

    @route("/clock", ["GET", "POST"])
    async def clock(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            body = await _json(request)
            try:
                if "offset_seconds" in body:
                    sim.state.clock_offset = float(body["offset_seconds"])
                else:
                    sim.state.clock_offset += float(body.get("advance_seconds", 0))
            except (TypeError, ValueError):
                raise invalid_param("advance_seconds") from None
            sim.mark_dirty()
        return {"now": int(sim.now()), "offset_seconds": sim.state.clock_offset}

    # ---- customers -----------------------------------------------------------------------
    def _chat_summary(wa_id: str) -> list[dict[str, Any]]:
        now = sim.now()
        out = []
        for chat in sim.state.chats.values():
            if chat.wa_id != wa_id:
                continue
            out.append({
                "phone_number_id": chat.pnid,
                "last_inbound_at": chat.last_inbound_at,
                "window_open": rules.window_open(chat, now),
                "window_expires_at": (chat.last_inbound_at + rules.WINDOW_SECONDS)
                if chat.last_inbound_at else None,
            })
        return out

    def _customer_json(c: Customer) -> dict[str, Any]:
        return {"wa_id": c.wa_id, "profile_name": c.profile_name,
                "read_receipts": c.read_receipts, "region": rules.region_of(c.wa_id),
                "chats": _chat_summary(c.wa_id)}

    @route("/customers", ["GET"])
    async def customers(_: Request) -> dict[str, Any]:
        return {"customers": [_customer_json(c) for c in sim.state.customers.values()],
                "business_numbers": [{
                    "id": pn.id, "display_phone_number": pn.display_phone_number,
                    "verified_name": pn.verified_name, "registered": pn.registered,
                    "waba_id": pn.waba_id,
                } for pn in sim.state.phone_numbers.values()]}

    @route("/customers/{wa_id}", ["GET", "PUT"])
    async def customer(request: Request) -> dict[str, Any]:
        wa_id = rules.normalise_to(request.path_params["wa_id"])
        c = sim.state.customers.get(wa_id)
        if request.method == "PUT":
            body = await _json(request)
            if c is None:
                c = Customer(wa_id=wa_id, profile_name=str(body.get("profile_name")
                                                           or f"Customer {wa_id[-4:]}"))
                sim.state.customers[wa_id] = c
            if body.get("profile_name"):
                c.profile_name = str(body["profile_name"])
            if "read_receipts" in body:
                c.read_receipts = bool(body["read_receipts"])
            if "last_inbound_at" in body:
                pnid = str(body.get("phone_number_id") or DEMO_PNID)
                val = body["last_inbound_at"]
                try:
                    sim.state.chat(pnid, wa_id).last_inbound_at = (
                        None if val is None else int(float(val)))
                except (TypeError, ValueError):
                    raise invalid_param("last_inbound_at") from None
            sim.mark_dirty()
        if c is None:
            return JSONResponse({"error": f"unknown customer {wa_id}"}, status_code=404)
        out = _customer_json(c)
        pnid = request.query_params.get("phone_number_id")
        base = base_of(request)
        out["messages"] = [render_message(sim, m, base) for m in sim.state.messages
                           if m.wa_id == wa_id and (not pnid or m.pnid == pnid)]
        return out

    @route("/customers/{wa_id}/messages", ["POST"])
    async def customer_message(request: Request) -> dict[str, Any]:
        body = await _json(request)
        return sim.customer_message(request.path_params["wa_id"], body)

    @route("/customers/{wa_id}/read", ["POST"])
    async def customer_read(request: Request) -> dict[str, Any]:
        body = await _json(request)
        wa_id = rules.normalise_to(request.path_params["wa_id"])
        read = sim.customer_reads(wa_id, body.get("phone_number_id"), body.get("message_id"))
        return {"read": read}

    # ---- templates -----------------------------------------------------------------------
    @route("/templates", ["GET"])
    async def templates(_: Request) -> dict[str, Any]:
        return {"templates": [{
            "id": t.id, "waba_id": t.waba_id, "name": t.name, "language": t.language,
            "status": t.status, "category": t.category,
            "parameter_format": t.parameter_format,
        } for t in sim.state.templates.values()]}

    @route("/templates/{template_id}/status", ["POST"])
    async def template_status(request: Request) -> dict[str, Any]:
        body = await _json(request)
        status = body.get("status") or body.get("event")
        if not isinstance(status, str) or not status:
            raise invalid_param("status", "status is required (e.g. APPROVED, PAUSED)")
        return sim.set_template_status(request.path_params["template_id"], status,
                                       body.get("reason"))

    # ---- webhook handshake helper --------------------------------------------------------
    @route("/verify_webhook", ["POST"])
    async def verify_webhook(request: Request) -> dict[str, Any]:
        body = await _json(request)
        url = body.get("webhook_url") or sim.config.webhook_url
        token = body.get("verify_token") or sim.config.verify_token
        if not url:
            raise invalid_param("webhook_url", "No webhook_url configured")
        challenge = str(secrets.randbelow(10**9))
        report: dict[str, Any] = {"webhook_url": url, "challenge": challenge}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                resp = await client.get(url, params={"hub.mode": "subscribe",
                                                     "hub.verify_token": token,
                                                     "hub.challenge": challenge})
                report["status_code"] = resp.status_code
                report["body"] = resp.text[:500]
                report["ok"] = resp.status_code == 200 and resp.text.strip() == challenge
                wrong = await client.get(url, params={"hub.mode": "subscribe",
                                                      "hub.verify_token": token + "-wrong",
                                                      "hub.challenge": challenge})
                report["wrong_token_status_code"] = wrong.status_code
                report["rejects_wrong_token"] = not (200 <= wrong.status_code < 300)
        except httpx.HTTPError as exc:
            report.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        return report

    return r
