"""Templates over HTTP with the simulator: sync fills the catalogue, a status webhook pauses a
template, a utility template reaches the outbox exactly as previewed on a closed window, and
refused sends never reach the Graph API."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from ctreflex import db, routes
from ctreflex.models import Account, Contact, Conversation, Message, Template, utc_now
from ctreflex.services import auth
from ctreflex.services import template_send as send
from ctreflex.services import templates as svc
from ctreflex.services.outbound import SendRefused
from tests.api.conftest import wait_for

US = "12125550142"  # Maria Lopez (New York): region US
CANADA = "14165550123"  # Emma Tremblay (Toronto): +1, region CA


@pytest.fixture
def live(request, monkeypatch):
    """live_api, with the templates router mounted (until ctreflex.api includes it)."""
    import ctreflex.api as api_pkg
    from ctreflex.api import templates as templates_api

    original = api_pkg.build_api

    def build_api():
        app = original()
        if not any(getattr(r, "path", "") == "/api/templates/sync" for r in app.routes):
            app.include_router(templates_api.router)
        return app

    monkeypatch.setattr(api_pkg, "build_api", build_api)
    return request.getfixturevalue("live_api")


def _login(live, seeded, email: str, password: str):
    token = auth.login(session=seeded, email=email, password=password)
    live.http.cookies.set(routes.SESSION_COOKIE, token)


def _bakery_id() -> int:
    with Session(db.get_engine()) as s:
        return s.exec(select(Account).where(Account.name == "Demo Bakery")).one().id


def _template(name: str, language: str = "en_US") -> Template:
    with Session(db.get_engine()) as s:
        return s.exec(
            select(Template).where(Template.name == name, Template.language == language)
        ).one()


def _conversation(wa_id: str, *, close: bool = False) -> int:
    with Session(db.get_engine()) as s:
        contact = s.exec(select(Contact).where(Contact.wa_id == wa_id)).one()
        conv = s.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
        if close:
            conv.window_expires_at = utc_now() - dt.timedelta(hours=3)
            s.add(conv)
            s.commit()
        return conv.id


def _sync(live, seeded):
    _login(live, seeded, "admin@demo.test", "demo-admin-1")
    r = live.http.post("/api/templates/sync")
    assert r.status_code == 200, r.text
    return r.json()


def test_sync_fills_the_catalogue_admins_only(live, seeded):
    _login(live, seeded, "agent@demo.test", "demo-agent-1")
    assert live.http.post("/api/templates/sync").status_code == 403
    result = _sync(live, seeded)
    assert result["added"] == 16 and result["errors"] == []  # fixture 16's 4 + 12 seeded
    with Session(db.get_engine()) as s:
        rows = s.exec(select(Template).where(Template.account_id == _bakery_id())).all()
        by_key = {(t.name, t.language): t for t in rows}
    assert by_key[("flash_sale_bogo", "en_US")].rejected_reason == "PROMOTIONAL"
    assert by_key[("summer_menu_launch", "en_US")].quality == "RED"
    assert by_key[("pickup_reminder", "en_US")].parameter_format == "NAMED"
    assert by_key[("order_ready", "es")].status == "APPROVED"
    again = _sync(live, seeded)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 16)
    listed = live.http.get("/api/templates", params={"q": "order", "language": "es"}).json()
    assert [(t["name"], t["language"]) for t in listed] == [("order_ready", "es")]


def test_status_webhook_pauses_a_template(live, seeded):
    _sync(live, seeded)
    row = _template("order_ready")
    account_id = _bakery_id()
    before = svc.list_templates(session=seeded, account_id=account_id, sendable_only=True)
    assert row.id in {r.id for r in before}
    r = live.control(
        "POST",
        f"/templates/{row.provider_template_id}/status",
        json={"status": "PAUSED", "reason": "LOW_QUALITY"},
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: _template("order_ready").status == "PAUSED", timeout=15)
    with Session(db.get_engine()) as s:
        picker = svc.list_templates(session=s, account_id=account_id, sendable_only=True)
        paused = svc.list_templates(session=s, account_id=account_id, status="PAUSED")
    assert row.id not in {t.id for t in picker}  # gone from the picker
    assert row.id in {t.id for t in paused}  # shown as paused on the templates page


def test_utility_template_on_a_closed_window_reaches_the_outbox_as_previewed(live, seeded):
    _sync(live, seeded)
    account_id = _bakery_id()
    conv_id = _conversation(CANADA, close=True)
    row = _template("order_ready")
    values = {
        "header.text": "#2207",
        "body.1": "Emma",
        "body.2": "rye loaf",
        "body.3": "12 Baker Street",
    }
    with Session(db.get_engine()) as s:
        shown = svc.preview(session=s, account_id=account_id, template_id=row.id, values=values)
        price = svc.cost(
            session=s, account_id=account_id, conversation_id=conv_id, template_id=row.id
        )
    assert price.category == "utility" and price.meta_charged  # outside the window: billed
    message_id = live.run(
        send.send_template(
            account_id=account_id,
            user_id=1,
            conversation_id=conv_id,
            template_id=row.id,
            values=values,
        )
    )
    outbox = live.control("GET", "/outbox", params={"to": CANADA}).json()["messages"]
    sent = [o for o in outbox if o["request"].get("type") == "template"][-1]
    tpl = sent["request"]["template"]
    assert (tpl["name"], tpl["language"]["code"]) == ("order_ready", "en_US")
    comps = {c["type"]: c for c in tpl["components"]}
    assert comps["header"]["parameters"] == [{"type": "text", "text": "#2207"}]
    assert [p["text"] for p in comps["body"]["parameters"]] == [
        "Emma",
        "rye loaf",
        "12 Baker Street",
    ]
    # what the customer got is what the preview showed
    header = shown.header_text
    body = shown.body
    assert header == "Order #2207 is ready"
    assert body == (
        "Hi Emma, your rye loaf is ready for pickup at 12 Baker Street. We keep it fresh for you "
        "until closing time."
    )
    # the simulator renders the request on its own, as the customer's phone shows it
    rendered = sent["template"]
    assert rendered["header"]["text"] == header
    assert rendered["body"] == body
    assert rendered["footer"] == shown.footer
    assert [b.get("text") for b in rendered["buttons"]] == [b.text for b in shown.buttons]

    def status():
        with Session(db.get_engine()) as s:
            return s.get(Message, message_id)

    msg = wait_for(lambda: (m := status()) and m.status in ("sent", "delivered") and m, timeout=15)
    assert msg.kind == "template" and msg.template_id == row.id and msg.body == body
    assert msg.payload["rendered"]["header_text"] == header
    assert msg.payload["values"] == values
    view = svc.preview_from_payload(msg.payload)
    assert (view.header_text, view.body) == (header, body)


def test_refused_before_any_graph_call(live, seeded):
    _sync(live, seeded)
    account_id = _bakery_id()
    before = len(live.control("GET", "/outbox").json()["messages"])
    us_conv = _conversation(US)
    marketing = _template("weekend_treats_offer")
    with pytest.raises(SendRefused) as exc:
        live.run(
            send.send_template(
                account_id=account_id,
                user_id=1,
                conversation_id=us_conv,
                template_id=marketing.id,
                values={
                    "header.media": "https://demobakery.example.com/box.jpg",
                    "body.1": "Maria",
                    "body.2": "croissants",
                    "body.3": "10%",
                    "button.0.url_suffix": "W10",
                },
            )
        )
    assert exc.value.field == "template" and "United States" in exc.value.message
    utility = _template("order_ready")
    with pytest.raises(SendRefused) as exc:
        live.run(
            send.send_template(
                account_id=account_id,
                user_id=1,
                conversation_id=_conversation(CANADA, close=True),
                template_id=utility.id,
                values={"header.text": "#1", "body.1": "Emma", "body.3": "12 Baker Street"},
            )
        )
    assert exc.value.field == "body.2" and "{{2}}" in exc.value.message
    assert len(live.control("GET", "/outbox").json()["messages"]) == before
    with Session(db.get_engine()) as s:
        assert not s.exec(select(Message).where(Message.kind == "template")).all()
