"""Graph API routes: ``/{version}/...`` plus the media download URL."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from .errors import GraphError, invalid_param, missing_param, unknown_object
from .state import PhoneNumber, Template, Waba

if TYPE_CHECKING:
    from .core import Simulator

VERSION_RE = re.compile(r"^v\d+\.\d+$")

PHONE_FIELDS = (
    "verified_name", "code_verification_status", "display_phone_number", "quality_rating",
    "platform_type", "throughput", "name_status", "status", "account_mode",
    "messaging_limit_tier", "whatsapp_business_manager_messaging_limit",
    "is_official_business_account", "is_pin_enabled", "new_name_status", "id",
)
TEMPLATE_FIELDS = ("name", "parameter_format", "components", "language", "status", "category",
                   "id", "quality_score", "rejected_reason", "sub_category",
                   "previous_category", "correct_category", "cta_url_link_tracking_opted_out",
                   "library_template_name", "message_send_ttl_seconds")
WABA_FIELDS = ("id", "name", "currency", "timezone_id", "message_template_namespace",
               "account_review_status", "business_verification_status", "country",
               "ownership_type", "primary_business_location")


def error_response(err: GraphError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'} \
        if err.code == 190 else None
    return JSONResponse(err.body(), status_code=err.http_status, headers=headers)


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if auth.lower().startswith("oauth "):
        return auth[6:].strip()
    return request.query_params.get("access_token")


def _maybe_json(value: str) -> Any:
    v = value.strip()
    if v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return value
    return value


async def read_params(request: Request) -> tuple[dict[str, Any], Any]:
    """(merged query + body params, raw JSON body or None). Malformed bodies -> code 100."""
    params: dict[str, Any] = {k: _maybe_json(v) for k, v in request.query_params.items()}
    params.pop("access_token", None)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    body: Any = None
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_part_size=200 * 1024 * 1024)
        except Exception as exc:  # noqa: BLE001
            raise invalid_param("body", f"Malformed form body: {exc}") from None
        for k, v in form.multi_items():
            params[k] = v if not isinstance(v, str) else _maybe_json(v)
        params.pop("access_token", None)
        return params, None
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise GraphError(100, f"The request body could not be parsed as JSON: {exc}.",
                             title="Invalid parameter") from None
        if isinstance(body, dict):
            params.update(body)
    return params, body


def _fields(params: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    raw = params.get("fields")
    if not raw:
        return list(allowed)
    wanted = [f.strip() for f in str(raw).split(",") if f.strip()]
    out = [f.split("{")[0] for f in wanted if f.split("{")[0] in allowed]
    if "id" not in out:
        out.append("id")
    return out


def phone_json(pn: PhoneNumber, fields: list[str]) -> dict[str, Any]:
    full: dict[str, Any] = {
        "verified_name": pn.verified_name,
        "code_verification_status": pn.code_verification_status,
        "display_phone_number": pn.display_phone_number,
        "quality_rating": pn.quality_rating,
        "platform_type": pn.platform_type,
        "throughput": {"level": pn.throughput_level},
        "name_status": pn.name_status,
        "new_name_status": "NONE",
        "status": pn.status,
        "account_mode": pn.account_mode,
        "is_official_business_account": pn.is_official_business_account,
        "is_pin_enabled": pn.pin is not None,
        "id": pn.id,
    }
    if pn.messaging_limit_tier:
        full["messaging_limit_tier"] = pn.messaging_limit_tier
        full["whatsapp_business_manager_messaging_limit"] = pn.messaging_limit_tier
    return {k: full[k] for k in fields if k in full}


def template_json(t: Template, fields: list[str]) -> dict[str, Any]:
    full: dict[str, Any] = {
        "name": t.name,
        "parameter_format": t.parameter_format,
        "components": t.components,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "id": t.id,
        "quality_score": t.quality_score,
        "rejected_reason": t.rejected_reason,
    }
    return {k: full[k] for k in fields if full.get(k) is not None}


def waba_json(w: Waba, fields: list[str]) -> dict[str, Any]:
    verified = w.id == "100000000000001"
    full: dict[str, Any] = {
        "id": w.id, "name": w.name, "currency": w.currency, "timezone_id": w.timezone_id,
        "message_template_namespace": w.message_template_namespace,
        "account_review_status": "APPROVED",
        "business_verification_status": "verified" if verified else "not_verified",
        "country": "US", "ownership_type": "SELF",
    }
    return {k: full[k] for k in fields if k in full}


def self_base(sim: Simulator, request: Request) -> str:
    """The simulator's own external URL (config, else scheme://host + mount path)."""
    if sim.config.public_base_url:
        return sim.config.public_base_url.rstrip("/")
    base = str(request.base_url).rstrip("/")
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if root and not base.endswith(root):
        base += root
    return base


def _cursor(i: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{i}".encode()).decode().rstrip("=")


def _uncursor(c: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode()
        if not raw.startswith("sim:"):
            raise ValueError
        return int(raw[4:])
    except ValueError:
        raise invalid_param("after", "Invalid cursor (after/before).") from None


def paginate(sim: Simulator, request: Request, version: str, path: str,
             items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    try:
        limit = int(params.get("limit") or 25)
    except (TypeError, ValueError):
        raise invalid_param("limit", "Param limit must be a positive integer.") from None
    limit = max(1, min(limit, 1000))
    start = 0
    if params.get("after"):
        start = _uncursor(str(params["after"])) + 1
    elif params.get("before"):
        start = max(0, _uncursor(str(params["before"])) - limit)
    page = items[start:start + limit]
    out: dict[str, Any] = {"data": page}
    if page:
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start),
                                              "after": _cursor(start + len(page) - 1)}}
        base = self_base(sim, request)
        query = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
        if start + len(page) < len(items):
            q = dict(query, limit=str(limit), after=_cursor(start + len(page) - 1))
            paging["next"] = f"{base}/{version}/{path}?{urlencode(q)}"
        if start > 0:
            q = dict(query, limit=str(limit), before=_cursor(start))
            paging["previous"] = f"{base}/{version}/{path}?{urlencode(q)}"
        out["paging"] = paging
    else:
        out["paging"] = {"cursors": {}}
    return out


def _multi(value: Any) -> set[str]:
    return {v.strip().upper() for v in str(value).split(",") if v.strip()}


def build_graph_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/whatsapp_business/attachments/", include_in_schema=False)
    @router.get("/whatsapp_business/attachments", include_in_schema=False)
    async def download(request: Request) -> Response:
        try:
            waba_id = sim.waba_for_token(bearer(request))
            mid = request.query_params.get("mid", "")
            try:
                ext = int(request.query_params.get("ext", "0"))
            except ValueError:
                ext = 0
            media = sim.state.media.get(mid)
            sig = request.query_params.get("hash", "")
            if media is None or media.deleted or sig != sim.media_hash(mid, ext):
                return JSONResponse({"error": "not found"}, status_code=404)
            if media.waba_id != waba_id:
                return JSONResponse(GraphError(10, "No access to this media.").body(),
                                    status_code=403)
            if ext < time.time():
                return JSONResponse({"error": "URL expired; fetch a new one with GET /{id}"},
                                    status_code=404)
            return Response(media.data, media_type=media.mime_type,
                            headers={"Content-Length": str(len(media.data))})
        except GraphError as err:
            return error_response(err)

    @router.api_route("/{version}/{path:path}", methods=["GET", "POST", "DELETE"],
                      include_in_schema=False)
    async def graph(version: str, path: str, request: Request) -> Response:
        try:
            if not VERSION_RE.match(version):
                raise GraphError(2500, f"Unknown path components: /{version}/{path}",
                                 title="Unknown path components", error_type="OAuthException",
                                 whatsapp=False)
            faults = sim.state.faults
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            waba_id = sim.waba_for_token(bearer(request))
            forced = sim.forced_error("all")
            if forced:
                raise GraphError(forced[0], "Error forced by the simulator's fault settings.")
            parts = [p for p in path.strip("/").split("/") if p]
            result = await _dispatch(sim, request, version, path, waba_id, parts)
            return JSONResponse(result)
        except GraphError as err:
            return error_response(err)

    return router


async def _dispatch(sim: Simulator, request: Request, version: str, path: str, waba_id: str,
                    parts: list[str]) -> dict[str, Any]:
    method = request.method.upper()
    state = sim.state
    if not parts:
        raise GraphError(2500, "Unknown path components", title="Unknown path components",
                         whatsapp=False)
    obj_id = parts[0]
    edge = parts[1] if len(parts) > 1 else None
    if len(parts) > 2:
        raise unknown_object(obj_id, method.lower())

    if method == "POST" and edge == "messages":
        pn = sim.phone_for(waba_id, obj_id)
        params, body = await read_params(request)
        if body is None:
            body = params  # form-encoded send (nested values given as JSON strings)
        answer = sim.send(pn, body)
        hold = sim.hang_after_accept(answer)
        if hold:  # accepted: the message and its statuses exist whatever the client sees
            await asyncio.sleep(hold)
        return answer

    if method == "POST" and edge == "media":
        pn = sim.phone_for(waba_id, obj_id)
        params, _ = await read_params(request)
        if not params.get("messaging_product"):
            raise missing_param("messaging_product")
        if params.get("messaging_product") != "whatsapp":
            raise invalid_param("messaging_product", "Param messaging_product must be "
                                                     "'whatsapp'.")
        upload = params.get("file")
        if upload is None or isinstance(upload, str | dict | list):
            raise missing_param("file")
        data = await upload.read()
        mime = str(params.get("type") or getattr(upload, "content_type", "") or "")
        if not mime:
            raise missing_param("type")
        media = sim.upload_media(pn, data, mime, getattr(upload, "filename", None))
        return {"id": media.id}

    if method == "POST" and edge in ("request_code", "verify_code", "register", "deregister"):
        pn = sim.phone_for(waba_id, obj_id)
        params, _ = await read_params(request)
        if edge == "request_code":
            return sim.request_code(pn, params)
        if edge == "verify_code":
            return sim.verify_code(pn, params)
        if edge == "register":
            return sim.register(pn, params)
        return sim.deregister(pn)

    if edge in ("message_templates", "phone_numbers"):
        if obj_id not in state.wabas or obj_id != waba_id:
            raise unknown_object(obj_id, method.lower())
        params, _ = await read_params(request)
        if edge == "phone_numbers" and method == "POST":
            return sim.create_number(waba_id, params)
        if method != "GET":
            raise unknown_object(obj_id, method.lower())
        if edge == "phone_numbers":
            fields = _fields(params, PHONE_FIELDS)
            nums = [phone_json(pn, fields) for pn in state.phone_numbers.values()
                    if pn.waba_id == waba_id]
            return paginate(sim, request, version, path, nums, params)
        return _list_templates(sim, request, version, path, waba_id, params)

    if edge is None:
        params, _ = await read_params(request)
        if method == "GET":
            if obj_id in state.wabas:
                if obj_id != waba_id:
                    raise unknown_object(obj_id)
                return waba_json(state.wabas[obj_id], _fields(params, WABA_FIELDS))
            pn = state.phone_numbers.get(obj_id)
            if pn is not None and pn.waba_id == waba_id:
                return phone_json(pn, _fields(params, PHONE_FIELDS))
            media = state.media.get(obj_id)
            if media is not None and not media.deleted and media.waba_id == waba_id:
                return {
                    "messaging_product": "whatsapp",
                    "url": sim.media_url(media, self_base(sim, request)),
                    "mime_type": media.mime_type,
                    "sha256": media.sha256,
                    "file_size": media.file_size,
                    "id": media.id,
                }
            tpl = state.templates.get(obj_id)
            if tpl is not None and tpl.waba_id == waba_id:
                return template_json(tpl, _fields(params, TEMPLATE_FIELDS))
            raise unknown_object(obj_id)
        if method == "DELETE":
            media = state.media.get(obj_id)
            if media is not None and not media.deleted and media.waba_id == waba_id:
                media.deleted = True
                media.data = b""
                sim.mark_dirty()
                return {"success": True}
            raise unknown_object(obj_id, "delete")
    raise unknown_object(obj_id, method.lower())


def _list_templates(sim: Simulator, request: Request, version: str, path: str, waba_id: str,
                    params: dict[str, Any]) -> dict[str, Any]:
    all_tpls = [t for t in sim.state.templates.values() if t.waba_id == waba_id]
    tpls = list(all_tpls)
    if params.get("status"):
        wanted = _multi(params["status"])
        tpls = [t for t in tpls if t.status in wanted]
    if params.get("category"):
        wanted = _multi(params["category"])
        tpls = [t for t in tpls if t.category in wanted]
    if params.get("language"):
        wanted = {v.lower() for v in _multi(params["language"])}
        tpls = [t for t in tpls if t.language.lower() in wanted]
    if params.get("name"):
        needle = str(params["name"]).lower()
        tpls = [t for t in tpls if needle in t.name.lower()]
    if params.get("quality_score"):
        wanted = _multi(params["quality_score"])
        tpls = [t for t in tpls if (t.quality_score or {}).get("score") in wanted]
    if params.get("content") or params.get("name_or_content"):
        needle = str(params.get("content") or params.get("name_or_content")).lower()
        tpls = [t for t in tpls if needle in json.dumps(t.components).lower()
                or (params.get("name_or_content") and needle in t.name.lower())]
    fields = _fields(params, TEMPLATE_FIELDS)
    out = paginate(sim, request, version, path, [template_json(t, fields) for t in tpls], params)
    if params.get("summary"):
        wanted = {s.strip() for s in str(params["summary"]).split(",")}
        summary = {
            "total_count": len(tpls),
            "message_template_count": len(all_tpls),
            "message_template_limit": 250,
            "are_translations_complete": True,
        }
        out["summary"] = {k: v for k, v in summary.items() if k in wanted or wanted == {"1"}
                          or wanted == {"true"}}
    return out
