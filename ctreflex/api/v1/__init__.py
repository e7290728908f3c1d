"""The public REST API, /api/v1: API keys (Bearer), scopes, a rate limit per key, RFC 9457
errors, idempotent sends. Its OpenAPI document is /api/v1/openapi.json and its reference page
/api/v1/docs (plain HTML rendered on the server: no script, no CDN). docs/API.md is the guide.
Conversation assign/resolve and the account's users: api/v1/team.py."""

from __future__ import annotations

import functools
import html

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from ctreflex.api.v1 import messages, resources, team
from ctreflex.realtime import broker
from ctreflex.services import webhook_queue

VERSION = "1.0.0"
DESCRIPTION = (
    "Connect CT Text to your booking system, shop or CRM: contacts, conversations, messages "
    "(text, media, templates; WhatsApp or SMS), templates, numbers and usage. Authenticate with "
    "`Authorization: Bearer <API key>` (Admin › API keys). Errors are RFC 9457 problem details "
    "naming the field. Send with an `Idempotency-Key` header so a retry never sends twice. "
    "Guide: docs/API.md."
)
PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
DOCS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)

docs_router = APIRouter(prefix="/api/v1")


@functools.cache
def openapi_document() -> dict:
    routes = [*resources.router.routes, *messages.router.routes, *team.router.routes]
    doc = get_openapi(
        title="CT Text API",
        version=VERSION,
        openapi_version="3.1.0",
        description=DESCRIPTION,
        routes=routes,
        tags=[
            {"name": "contacts"},
            {"name": "conversations"},
            {"name": "messages"},
            {"name": "templates"},
            {"name": "numbers"},
            {"name": "usage"},
            {"name": "webhooks"},
        ],
    )
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from Admin › API keys (ctk_…).",
    }
    doc["security"] = [{"bearerAuth": []}]
    return doc


@docs_router.get("/openapi.json", include_in_schema=False)
def openapi_json() -> JSONResponse:
    return JSONResponse(openapi_document())


def _docs_html(doc: dict) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>CT Text API v1 reference</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#1c2024}code,pre{background:#f3f3f3;padding:0 .25rem}"
        "h2{margin-top:2rem;border-bottom:1px solid #ddd}.op{margin:1rem 0;padding:.5rem 1rem;"
        "border:1px solid #e0e0e0;border-radius:6px}.m{font-weight:700;text-transform:uppercase;"
        "margin-right:.5rem}table{border-collapse:collapse}td,th{border:1px solid #e0e0e0;"
        "padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head><body>",
        "<h1>CT Text API v1</h1>",
        f"<p>{esc(doc['info'].get('description', ''))}</p>",
        "<p>OpenAPI document: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a> "
        "(import it into Postman, Power Automate, Zapier or Make).</p>",
    ]
    by_tag: dict[str, list] = {}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    for tag, ops in by_tag.items():
        parts.append(f"<h2>{esc(tag.title())}</h2>")
        for path, method, op in ops:
            parts.append("<div class='op'>")
            parts.append(
                f"<p><span class='m'>{esc(method)}</span><code>{esc(path)}</code>"
                f" — {esc(op.get('summary', ''))}</p>"
            )
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = op.get("parameters") or []
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>about</th></tr>")
                for p in params:
                    parts.append(
                        f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}</td>"
                        f"<td>{esc(p.get('description', '') or '')}</td></tr>"
                    )
                parts.append("</table>")
            body = (op.get("requestBody") or {}).get("content", {})
            for ctype, spec in body.items():
                ref = spec.get("schema", {}).get("$ref", "")
                parts.append(
                    f"<p>Body: <code>{esc(ctype)}</code> {esc(ref.rsplit('/', 1)[-1])}</p>"
                )
            codes = ", ".join(esc(str(c)) for c in op.get("responses", {}))
            parts.append(f"<p>Responses: {codes}</p></div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        fields = ", ".join(f"<code>{esc(k)}</code>" for k in (schema.get("properties") or {}))
        parts.append(f"<p><strong>{esc(name)}</strong>: {fields}</p>")
    parts.append("</body></html>")
    return "".join(parts)


@docs_router.get("/docs", include_in_schema=False)
def docs_page() -> HTMLResponse:
    return HTMLResponse(
        _docs_html(openapi_document()), headers={"Content-Security-Policy": DOCS_CSP}
    )


def include(api: FastAPI) -> None:
    """Mount /api/v1 on the app (build_api)."""
    api.include_router(docs_router)
    api.include_router(resources.router)
    api.include_router(messages.router)
    api.include_router(team.router)
    # outbound webhooks: message events are queued from the live-event stream
    broker.add_listener(webhook_queue.on_live_event)
