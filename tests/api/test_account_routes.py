"""Backend routes check the role on the server, from the session cookie."""

from fastapi.testclient import TestClient

from ctreflex import routes
from ctreflex.api import build_api
from ctreflex.services import auth


def _client(seeded, email: str | None, password: str | None) -> TestClient:
    client = TestClient(build_api())
    if email:
        token = auth.login(session=seeded, email=email, password=password)
        client.cookies.set(routes.SESSION_COOKIE, token)
    return client


def test_anonymous_gets_401(seeded):
    assert _client(seeded, None, None).get("/api/me").status_code == 401
    assert _client(seeded, None, None).get("/api/admin/users").status_code == 401


def test_agent_is_refused_admin_routes(seeded):
    client = _client(seeded, "agent@demo.test", "demo-agent-1")
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["role"] == "agent"
    for path in ("/api/admin/users", "/api/admin/numbers"):
        response = client.get(path)
        assert response.status_code == 403
        assert "admin" in response.json()["detail"]


def test_admin_sees_only_their_account(seeded):
    client = _client(seeded, "admin@harbor.test", "harbor-admin-1")
    emails = {u["email"] for u in client.get("/api/admin/users").json()}
    assert emails == {"admin@harbor.test", "agent@harbor.test"}
    numbers = client.get("/api/admin/numbers").json()
    assert [n["display_name"] for n in numbers] == ["Harbor Tools"]
