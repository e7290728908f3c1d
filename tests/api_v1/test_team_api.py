"""/api/v1 team inbox routes over HTTP (issue 16's missing pieces, team-a): the account's users,
assign / unassign and resolve a conversation, with every refusal: another account's
conversation (404), an unknown or other account's user (422 naming assignee_id), the wrong
scope (403), no key (401), a malformed body (422). The change is the inbox's own: the thread
line and the status/assignee in the conversation's view."""

from __future__ import annotations

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Conversation, ConversationEvent, User
from tests.api_v1.conftest import HARBOR, auth, conversation_of, make_key
from tests.api_v1.test_reads import MARIA, problem


def _user(email: str) -> int:
    with Session(db.get_engine()) as s:
        return s.exec(select(User).where(User.email == email)).one().id


def test_users_assign_unassign_and_resolve(client, key):
    users = client.get("/api/v1/users", headers=auth(key)).json()["data"]
    assert {u["name"] for u in users} >= {"Ada Baker", "Sam Rivers"}
    sam = _user("agent@demo.test")
    conv_id = conversation_of(MARIA)

    r = client.post(
        f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": sam}, headers=auth(key)
    )
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"id": sam, "name": "Sam Rivers"}
    assert r.json()["status"] == "open"
    got = client.get(f"/api/v1/conversations/{conv_id}", headers=auth(key)).json()
    assert got["assignee"]["id"] == sam

    r = client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=auth(key))
    assert r.status_code == 200 and r.json()["status"] == "resolved"

    r = client.post(
        f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": None}, headers=auth(key)
    )
    assert r.status_code == 200 and r.json()["assignee"] is None
    with Session(db.get_engine()) as s:
        events = s.exec(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conv_id)
            .order_by(ConversationEvent.id)
        ).all()
        assert [e.kind for e in events] == ["assigned", "resolved", "unassigned"]
        assert events[0].actor_label == "API key “test”" and events[0].actor_user_id is None


def test_assign_and_resolve_refusals(client, key):
    conv_id = conversation_of(MARIA)
    url = f"/api/v1/conversations/{conv_id}/assign"
    harbor_key = make_key(HARBOR)
    sam = _user("agent@demo.test")
    # another account's conversation: 404, nothing of it shown, nothing changed
    body = problem(client.post(url, json={"assignee_id": sam}, headers=auth(harbor_key)), 404)
    assert "Maria" not in str(body)
    problem(client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=auth(harbor_key)), 404)
    # unknown user, and a user of another account
    problem(client.post(url, json={"assignee_id": 999_999}, headers=auth(key)), 422, "assignee_id")
    harbor_admin = _user("admin@harbor.test")
    problem(
        client.post(url, json={"assignee_id": harbor_admin}, headers=auth(key)), 422, "assignee_id"
    )
    # wrong scope, no key, malformed bodies
    reader = make_key(scopes=("read",))
    body = problem(client.post(url, json={"assignee_id": sam}, headers=auth(reader)), 403)
    assert "send" in body["detail"]
    problem(client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=auth(reader)), 403)
    problem(client.post(url, json={"assignee_id": sam}), 401)
    problem(client.post(url, json={}, headers=auth(key)), 422)
    problem(client.post(url, json={"assignee_id": sam, "x": 1}, headers=auth(key)), 422)
    problem(client.post(url, json={"assignee_id": "sam"}, headers=auth(key)), 422)
    problem(
        client.post(
            "/api/v1/conversations/999999/assign", json={"assignee_id": sam}, headers=auth(key)
        ),
        404,
        "conversation_id",
    )
    with Session(db.get_engine()) as s:
        conv = s.get(Conversation, conv_id)
        assert conv.assignee_id is None and conv.status == "open"
        assert s.exec(select(ConversationEvent)).all() == []


def test_openapi_lists_the_team_routes_and_the_assigned_event(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/conversations/{conversation_id}/assign" in doc["paths"]
    assert "/api/v1/conversations/{conversation_id}/resolve" in doc["paths"]
    assert "/api/v1/users" in doc["paths"]
    events = doc["components"]["schemas"]["WebhookCreate"]["properties"]["events"]
    assert "conversation.assigned" in str(events)
