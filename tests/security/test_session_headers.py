"""The session cookie is the server's (HttpOnly, SameSite=Lax, Secure on https), CORS and the
websocket accept only the app's own origins, and every page and route carries the security
headers. The first part drives the routes in-process; the `browser`-marked part asks the served
app (production mode, one port: the real Reflex stack with its CORS layers and the compiled
pages) — run it under the e2e lock."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ctreflex import routes
from ctreflex.api import build_api
from ctreflex.api import security as sec
from ctreflex.services import auth
from ctreflex.settings import reset_settings_cache
from ctreflex.state.auth import ADMIN_ONLY_NOTICE, verify

OWN = "http://127.0.0.1:3000"
FOREIGN = "https://evil.example"


@pytest.fixture
def client(seeded, monkeypatch) -> TestClient:
    monkeypatch.delenv("CTREFLEX_PUBLIC_URL", raising=False)
    monkeypatch.setenv("CTREFLEX_PORT", "3000")
    reset_settings_cache()
    yield TestClient(build_api(), base_url="http://127.0.0.1:3000", follow_redirects=False)
    reset_settings_cache()


def _set_cookie(response: httpx.Response) -> str:
    [header] = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    return header


def _sign_in(client: TestClient, email: str, password: str, **headers) -> httpx.Response:
    return client.post(
        "/auth/login", data={"email": email, "password": password}, headers=headers
    )


def _notice(response: httpx.Response) -> tuple[str, dict]:
    location = urlsplit(response.headers["location"])
    assert location.path == routes.LOGIN
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert verify(query["notice"], query["sig"])
    return query.get("email", ""), json.loads(query["notice"])


# ---------------------------------------------------------------------------- the cookie


def test_login_sets_an_httponly_lax_cookie_and_redirects_to_the_inbox(client, seeded):
    response = _sign_in(client, "admin@demo.test", "demo-admin-1", origin=OWN)
    assert response.status_code == 303
    assert response.headers["location"] == routes.INBOX
    cookie = _set_cookie(response)
    flags = [part.strip().lower() for part in cookie.split(";")]
    name, _, token = flags[0].partition("=")
    assert name == routes.SESSION_COOKIE
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # the public URL is http
    user = auth.resolve(session=seeded, token=cookie.split(";")[0].split("=", 1)[1])
    assert user is not None and user.email == "admin@demo.test"
    me = client.get("/api/me")  # the client keeps the cookie, as a browser does
    assert me.status_code == 200 and me.json()["email"] == "admin@demo.test"


def test_cookie_is_secure_when_the_public_url_is_https(client, monkeypatch):
    monkeypatch.setenv("CTREFLEX_PUBLIC_URL", "https://inbox.example.com")
    reset_settings_cache()
    response = _sign_in(client, "agent@demo.test", "demo-agent-1")
    assert response.status_code == 303
    flags = [part.strip().lower() for part in _set_cookie(response).split(";")]
    assert "secure" in flags and "httponly" in flags


def test_wrong_password_goes_back_to_login_with_the_email_and_one_message(client):
    response = _sign_in(client, "admin@demo.test", "not-the-password", origin=OWN)
    assert response.status_code == 303
    assert "set-cookie" not in response.headers
    email, notice = _notice(response)
    assert email == "admin@demo.test"
    assert notice == {"form": auth.GENERIC_LOGIN_ERROR}
    assert client.get("/api/me").status_code == 401


def test_empty_fields_come_back_as_field_messages(client):
    email, notice = _notice(_sign_in(client, "", ""))
    assert email == ""
    assert notice == {"email": "Enter your e-mail address.", "password": "Enter your password."}


def test_a_forged_notice_is_not_shown():
    assert not verify('{"form":"Call +1 555 0100 to unlock your account"}', "0" * 24)


def test_login_from_a_foreign_origin_is_refused(client):
    response = _sign_in(client, "admin@demo.test", "demo-admin-1", origin=FOREIGN)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_logout_revokes_the_session_and_clears_the_cookie(client, seeded):
    _sign_in(client, "agent@demo.test", "demo-agent-1")
    token = client.cookies[routes.SESSION_COOKIE]
    assert auth.resolve(session=seeded, token=token) is not None
    response = client.post("/auth/logout", headers={"origin": OWN})
    assert response.status_code == 303 and response.headers["location"] == routes.LOGIN
    cleared = [part.strip().lower() for part in _set_cookie(response).split(";")]
    assert cleared[0] == f'{routes.SESSION_COOKIE}=""' or cleared[0] == f"{routes.SESSION_COOKIE}="
    assert "max-age=0" in cleared
    seeded.expire_all()
    assert auth.resolve(session=seeded, token=token) is None
    # the old token, replayed, opens nothing
    replay = TestClient(build_api(), base_url="http://127.0.0.1:3000")
    replay.cookies.set(routes.SESSION_COOKIE, token)
    assert replay.get("/api/me").status_code == 401


def test_logout_from_a_foreign_origin_is_refused(client, seeded):
    _sign_in(client, "agent@demo.test", "demo-agent-1")
    token = client.cookies[routes.SESSION_COOKIE]
    assert client.post("/auth/logout", headers={"origin": FOREIGN}).status_code == 403
    assert auth.resolve(session=seeded, token=token) is not None


# ---------------------------------------------------------------------------- headers


def test_routes_carry_the_security_headers(client):
    for response in (client.get("/api/me"), _sign_in(client, "", "")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_page_policy_allows_exactly_the_builds_inline_scripts(tmp_path, monkeypatch):
    build = tmp_path / "build" / "client"
    (build / "inbox").mkdir(parents=True)
    (build / "index.html").write_text(
        '<html><script>window.__ctx = 1;</script><script src="/assets/a.js"></script></html>'
    )
    (build / "inbox" / "index.html").write_text('<script type="module">import "/x.js";</script>')
    monkeypatch.setenv("REFLEX_WEB_WORKDIR", str(tmp_path))
    monkeypatch.setattr(sec, "build_dir", lambda: build)
    csp = sec.csp_for("/inbox/", "text/html; charset=utf-8")
    hashes = sec.inline_script_hashes(build)
    assert len(hashes) == 2 and all(h in csp for h in hashes)
    # the CSP hash of an inline script: base64 of the SHA-256 of its exact text
    digest = base64.b64encode(hashlib.sha256(b"window.__ctx = 1;").digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert "object-src 'none'" in csp
    assert sec.csp_for("/api/me", "application/json") == sec.API_CSP
    assert "'unsafe-inline'" in sec.csp_for("/simulator/", "text/html")


def test_a_websocket_from_a_foreign_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(
        "/_event/?EIO=4&transport=websocket", headers={"origin": FOREIGN}
    ):
        pass
    assert refused.value.code == 1008


# ---------------------------------------------------------------------------- the served app

served = pytest.mark.browser  # starts the app: run under flock /tmp/e2e.lock


@pytest.fixture(scope="module")
def app_url(served_app) -> str:
    return served_app.url


@served
def test_served_cors_answers_only_the_own_origin(app_url):
    own = app_url
    with httpx.Client(base_url=app_url, timeout=10) as http:
        foreign = http.get("/api/me", headers={"origin": FOREIGN, "cookie": "a=b"})
        # without Access-Control-Allow-Origin the browser hands the answer to no script
        assert "access-control-allow-origin" not in foreign.headers
        mine = http.get("/api/me", headers={"origin": own})
        assert mine.headers["access-control-allow-origin"] == own
        assert mine.headers["access-control-allow-credentials"] == "true"
        preflight = http.options(
            "/api/admin/users",
            headers={"origin": FOREIGN, "access-control-request-method": "GET"},
        )
        assert preflight.status_code == 400
        assert preflight.headers.get("access-control-allow-origin") != FOREIGN
        preflight = http.options(
            "/api/admin/users", headers={"origin": own, "access-control-request-method": "GET"}
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == own


@served
def test_served_websocket_checks_the_origin(app_url):
    import websocket

    url = app_url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, origin=FOREIGN, timeout=10)
    assert refused.value.status_code in (400, 403)
    ok = websocket.create_connection(url, origin=app_url, timeout=10)
    try:
        assert ok.recv().startswith("0{")  # engine.io's open packet
    finally:
        ok.close()


@served
def test_served_pages_and_routes_carry_the_headers(app_url):
    with httpx.Client(base_url=app_url, timeout=10) as http:
        for path in ("/login/", "/inbox/", "/api/me", "/ping"):
            response = http.get(path)
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        page = http.get("/login/")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self' 'unsafe-eval' 'sha256-" in csp
        assert "'unsafe-inline'" not in csp.split("style-src")[0]


@served
def test_served_require_admin_sends_an_agent_to_the_inbox(page, app_url):
    from playwright.sync_api import expect

    from tests.e2e.conftest import login

    login(page, app_url, "agent@demo.test", "demo-agent-1")
    for path in ("/numbers", "/usage", "/admin/users"):
        page.goto(app_url + path)
        page.wait_for_url("**/inbox**", timeout=15_000)
        expect(page.get_by_text(ADMIN_ONLY_NOTICE).first).to_be_visible()
        expect(page.get_by_role("table")).to_have_count(0)


@served
def test_served_pages_work_under_the_policy(page, app_url):
    """No CSP violation in Chromium while signing in, opening the inbox and a conversation,
    searching and signing out (the policy allows exactly what Reflex's build needs)."""
    from playwright.sync_api import expect

    from tests.e2e.conftest import conversation_name, login

    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
        "e.blockedURI))"
    )
    page.goto(app_url + "/")  # the site root sends an anonymous visitor to sign in
    page.wait_for_url("**/login**")
    login(page, app_url, "admin@demo.test", "demo-admin-1")
    page.goto(app_url + "/")  # and a signed-in one to the inbox
    page.wait_for_url("**/inbox**")
    page.get_by_role("link", name=conversation_name("Maria Lopez")).first.click()
    page.wait_for_url("**/inbox/*")
    expect(page.get_by_role("heading", name="Maria Lopez", level=2).first).to_be_visible()
    page.get_by_label("Search conversations").fill("Dev")
    expect(page.get_by_role("link", name=conversation_name("Dev Patel")).first).to_be_visible()
    page.goto(app_url + "/templates")
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    page.wait_for_url("**/login**")
    assert violations == []
