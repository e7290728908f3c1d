"""Security headers on every page and route, and the websocket's Origin check.

One ASGI middleware, added in build_api(): in production one port serves the pages (Reflex's
compiled frontend is mounted inside our FastAPI app), the websocket and the routes, so every
response passes through it.

- Content-Security-Policy. Pages: scripts only from this origin plus the inline scripts of
  Reflex's own build, allowed one by one by their SHA-256 (read from .web/build/client, so an
  injected inline script is never allowed); 'unsafe-eval' because Reflex runs `rx.call_script`
  through eval; styles inline (Radix and emotion inject them); frame-ancestors 'none'. Other
  responses (JSON, files): default-src 'none'. A route that sets its own CSP (media: sandbox)
  keeps it. The simulators' phone pages (development tools, mounted only in simulator modes)
  carry inline code, so they get a policy that allows it, still with frame-ancestors 'none'.
- X-Frame-Options DENY, Referrer-Policy strict-origin-when-cross-origin, X-Content-Type-Options
  nosniff on everything.
- A websocket whose Origin is not one of ours (CTREFLEX_PUBLIC_URL's, CTREFLEX_ALLOWED_ORIGINS)
  is refused before the handshake (403); socket.io checks the same list (rxconfig.py).

CORS itself is Reflex's middleware, configured from the same list in rxconfig.py
(`cors_allowed_origins`): credentials only ever for these origins.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ctreflex.settings import get_settings

log = logging.getLogger("ctreflex.security")

SIMULATOR_PREFIXES = ("/simulator", "/sms-simulator")
EVENT_PATH = "/_event"

COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

SIMULATOR_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def allowed_origins() -> frozenset[str]:
    """The origins a browser may use this app from (settings.origins)."""
    return frozenset(get_settings().origins)


def request_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


# ---------------------------------------------------------------------------- page CSP

_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(rb"\bsrc\s*=", re.IGNORECASE)
_cache: dict[str, object] = {"key": None, "csp": None}


def build_dir() -> Path:
    """Where Reflex's compiled pages are (REFLEX_WEB_WORKDIR or .web, then build/client)."""
    try:
        from reflex.utils import prerequisites

        web = Path(prerequisites.get_web_dir())
    except Exception:  # noqa: BLE001 - no Reflex environment
        web = Path(os.environ.get("REFLEX_WEB_WORKDIR", ".web"))
    return (web / "build" / "client").resolve()


def inline_script_hashes(root: Path) -> list[str]:
    """'sha256-…' sources for every inline script of the compiled pages under `root`."""
    found: dict[str, None] = {}
    for page in sorted(root.rglob("*.html")):
        try:
            html = page.read_bytes()
        except OSError:
            continue
        for attrs, body in _SCRIPT.findall(html):
            if _SRC.search(attrs) or not body.strip():
                continue
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            found[f"'sha256-{digest}'"] = None
    return list(found)


def page_csp(hashes: list[str]) -> str:
    scripts = " ".join(["'self'", "'unsafe-eval'", *hashes])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; "
        "connect-src 'self'; worker-src 'self' blob:; frame-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def current_page_csp() -> str:
    """The pages' policy for the build on disk now (recomputed when the build changes)."""
    root = build_dir()
    try:
        stamp = (root.stat().st_mtime_ns, (root / "index.html").stat().st_mtime_ns)
    except OSError:
        stamp = None
    key = (str(root), stamp)
    if _cache["key"] != key:
        hashes = inline_script_hashes(root) if stamp else []
        if not hashes:
            log.warning("no compiled pages found in %s: pages get no inline-script hashes", root)
        _cache["key"], _cache["csp"] = key, page_csp(hashes)
    return str(_cache["csp"])


def csp_for(path: str, content_type: str) -> str:
    if not content_type.lower().startswith("text/html"):
        return API_CSP
    if any(path == p or path.startswith(p + "/") for p in SIMULATOR_PREFIXES):
        return SIMULATOR_CSP
    return current_page_csp()


# ---------------------------------------------------------------------------- middleware

_refused_origins: set[str] = set()


class SecurityHeaders:
    """Pure ASGI (no buffering): adds the headers to `http.response.start` and checks the
    websocket's Origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin not in allowed_origins():
                if origin not in _refused_origins and len(_refused_origins) < 100:
                    _refused_origins.add(origin)
                    log.warning(
                        "websocket from Origin %r refused: not CTREFLEX_PUBLIC_URL's origin nor "
                        "in CTREFLEX_ALLOWED_ORIGINS",
                        origin,
                    )
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in COMMON_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                # a 304 updates the cached response's headers: leave its policy alone
                if b"content-security-policy" not in present and message["status"] != 304:
                    content_type = ""
                    for name, value in headers:
                        if name.lower() == b"content-type":
                            content_type = value.decode("latin-1")
                    headers.append(
                        (b"content-security-policy", csp_for(path, content_type).encode())
                    )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
