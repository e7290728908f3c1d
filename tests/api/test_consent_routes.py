"""An agent records an opt-out / opt-in the customer asked for in words (issue 14)."""

from fastapi.testclient import TestClient
from sqlmodel import select

from ctreflex import routes
from ctreflex.api import build_api
from ctreflex.models import Contact, Conversation
from ctreflex.services import auth, optouts


def _client(seeded, email: str, password: str) -> TestClient:
    client = TestClient(build_api())
    client.cookies.set(routes.SESSION_COOKIE, auth.login(session=seeded, email=email,
                                                         password=password))
    return client


def test_agent_records_a_marketing_opt_out_then_opt_in(seeded):
    lena = seeded.exec(select(Contact).where(Contact.name == "Lena Schmidt")).one()
    conv = seeded.exec(select(Conversation).where(Conversation.contact_id == lena.id)).one()
    client = _client(seeded, "agent@demo.test", "demo-agent-1")
    r = client.post(f"/api/conversations/{conv.id}/opt-out")
    assert r.status_code == 200, r.text
    assert r.json()["marketing_opted_out"] is True
    assert r.json()["summary"] == "Opted out of marketing (all channels)"
    seeded.expire_all()
    ok, reason = optouts.can_send(session=seeded, contact_id=lena.id, channel="sms",
                                  marketing=True)
    assert not ok and "Recorded by Sam Rivers" in reason
    r = client.post(f"/api/conversations/{conv.id}/opt-in")
    assert r.status_code == 200 and r.json()["marketing_opted_out"] is False
    # another account's conversation: 404, nothing recorded
    harbor = _client(seeded, "admin@harbor.test", "harbor-admin-1")
    assert harbor.post(f"/api/conversations/{conv.id}/opt-out").status_code == 404
    assert harbor.post("/api/conversations/0/opt-out").status_code == 422
    seeded.expire_all()
    assert len(optouts.ledger(session=seeded, contact_id=lena.id)) == 2
