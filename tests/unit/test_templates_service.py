"""The templates service: catalogue search, form, preview, pre-flight, send refusals, cost."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlmodel import func, select

from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    Template,
    utc_now,
)
from ctreflex.services import template_send as send
from ctreflex.services import templates as svc
from ctreflex.services.outbound import SendRefused
from ctreflex.simulator.seed import DEMO_WABA, build_seed_state

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200


def _bakery(session) -> Account:
    return session.exec(select(Account).where(Account.name == "Demo Bakery")).one()


def _load_templates(session, account: Account) -> dict[tuple[str, str], Template]:
    """The simulator's seeded Demo Bakery templates, stored as a sync would store them."""
    out = {}
    for t in build_seed_state().templates.values():
        if t.waba_id != DEMO_WABA:
            continue
        row = Template(
            account_id=account.id,
            waba_id=t.waba_id,
            provider_template_id=t.id,
            name=t.name,
            language=t.language,
            category=t.category,
            status=t.status,
            quality=(t.quality_score or {}).get("score", "UNKNOWN"),
            parameter_format=t.parameter_format,
            rejected_reason=t.rejected_reason if t.rejected_reason != "NONE" else None,
            components=t.components,
        )
        session.add(row)
        out[(t.name, t.language)] = row
    session.commit()
    return out


@pytest.fixture
def bakery(seeded):
    account = _bakery(seeded)
    tpls = _load_templates(seeded, account)
    return seeded, account, tpls


def _conv(session, account: Account, e164: str) -> Conversation:
    contact = session.exec(
        select(Contact).where(Contact.account_id == account.id, Contact.e164 == e164)
    ).one()
    return session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()


def _close_window(session, conv: Conversation) -> None:
    conv.window_expires_at = utc_now() - dt.timedelta(hours=2)
    session.add(conv)
    session.commit()


US = "+12125550142"  # Maria Lopez, New York: region US
CANADA = "+14165550123"  # Emma Tremblay, Toronto: +1 but region CA
ORDER_READY = {
    "header.text": "#1042",
    "body.1": "Maria",
    "body.2": "sourdough loaf",
    "body.3": "12 Baker Street",
}
WEEKEND = {
    "header.media": "https://demobakery.example.com/box.jpg",
    "body.1": "Emma",
    "body.2": "cinnamon rolls",
    "body.3": "15%",
    "button.0.url_suffix": "WEEKEND15",
}


# ------------------------------------------------------------------------------ catalogue


def test_search_by_name_and_body_text(bakery):
    session, account, _ = bakery
    names = lambda rows: {(r.name, r.language) for r in rows}  # noqa: E731
    rows = svc.list_templates(session=session, account_id=account.id, search="pickup")
    # the name, and order_ready's body ("ready for pickup at …")
    assert names(rows) == {("pickup_reminder", "en_US"), ("order_ready", "en_US")}
    rows = svc.list_templates(
        session=session, account_id=account.id, search="Fresh OUT of  the oven"
    )
    assert names(rows) == {("weekend_treats_offer", "en_US")}
    rows = svc.list_templates(session=session, account_id=account.id, search="order ready")
    assert names(rows) == {("order_ready", "en_US"), ("order_ready", "es")}
    assert svc.list_templates(session=session, account_id=account.id, search="zzz") == []


def test_filters(bakery):
    session, account, _ = bakery
    paused = svc.list_templates(session=session, account_id=account.id, status="paused")
    assert [r.name for r in paused] == ["summer_menu_launch"]
    auth = svc.list_templates(session=session, account_id=account.id, category="AUTHENTICATION")
    assert [r.name for r in auth] == ["login_code"] and auth[0].sendable is False
    fr = svc.list_templates(session=session, account_id=account.id, language="fr")
    assert [(r.name, r.category, r.header) for r in fr] == [
        ("weekend_treats_offer", "MARKETING", "image")
    ]
    rejected = svc.list_templates(session=session, account_id=account.id, status="REJECTED")
    assert rejected[0].rejected_reason == "PROMOTIONAL"
    assert "fr" in svc.languages(session=session, account_id=account.id)


def test_picker_list_only_sendable_and_conversation_language_first(bakery):
    session, account, _ = bakery
    rows = svc.list_templates(
        session=session, account_id=account.id, sendable_only=True, prefer_language="es"
    )
    assert rows[0].name == "order_ready" and rows[0].language == "es"
    assert all(r.status == "APPROVED" and r.category in ("MARKETING", "UTILITY") for r in rows)
    assert "login_code" not in {r.name for r in rows}
    assert "summer_menu_launch" not in {r.name for r in rows}


def test_other_accounts_templates_are_not_listed(bakery):
    session, account, tpls = bakery
    harbor = session.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    assert svc.list_templates(session=session, account_id=harbor.id) == []
    tid = tpls[("order_ready", "en_US")].id
    assert svc.template_form(session=session, account_id=harbor.id, template_id=tid) == []


# ------------------------------------------------------------------------------ form, preview


def test_template_form_fields(bakery):
    session, account, tpls = bakery
    form = svc.template_form(
        session=session, account_id=account.id, template_id=tpls[("order_ready", "en_US")].id
    )
    assert [(f.key, f.example) for f in form] == [
        ("header.text", "#1042"),
        ("body.1", "Maria"),
        ("body.2", "sourdough loaf"),
        ("body.3", "12 Baker Street"),
    ]
    weekend = svc.template_form(
        session=session,
        account_id=account.id,
        template_id=tpls[("weekend_treats_offer", "en_US")].id,
    )
    assert [f.key for f in weekend] == [
        "header.media",
        "body.1",
        "body.2",
        "body.3",
        "button.0.url_suffix",
        "button.1.payload",
        "button.2.payload",
    ]
    assert weekend[0].is_media and weekend[0].kind == "image"
    named = svc.template_form(
        session=session, account_id=account.id, template_id=tpls[("pickup_reminder", "en_US")].id
    )
    assert [f.key for f in named] == ["body.customer_name", "body.item", "body.closing_time"]


def test_preview_fills_values_and_keeps_unfilled_placeholders(bakery):
    session, account, tpls = bakery
    tid = tpls[("order_ready", "en_US")].id
    view = svc.preview(
        session=session, account_id=account.id, template_id=tid, values={"body.1": "Ana"}
    )
    assert view.header_kind == "text" and view.header_text == "Order {{1}} is ready"
    assert view.body.startswith("Hi Ana, your {{2}} is ready")
    assert [s.text for s in view.segments if s.placeholder] == ["{{2}}", "{{3}}"]
    assert view.footer == "Demo Bakery"
    assert [(b.kind, b.text, b.detail, b.icon) for b in view.buttons] == [
        ("PHONE_NUMBER", "Call us", "+15550100100", "phone")
    ]
    example = svc.preview(
        session=session, account_id=account.id, template_id=tid, use_examples=True
    )
    assert example.header_text == "Order #1042 is ready"
    assert "sourdough loaf" in example.body


def test_preview_buttons_and_quick_replies(bakery):
    session, account, tpls = bakery
    tid = tpls[("weekend_treats_offer", "en_US")].id
    view = svc.preview(session=session, account_id=account.id, template_id=tid, values=WEEKEND)
    assert view.header_kind == "image"
    assert view.header_media_url == "https://demobakery.example.com/box.jpg"
    assert [(b.kind, b.detail) for b in view.buttons] == [
        ("URL", "https://demobakery.example.com/order?promo=WEEKEND15")
    ]
    assert [q.text for q in view.quick_replies] == ["Save me a box", "Stop promotions"]
    code = svc.preview(
        session=session,
        account_id=account.id,
        template_id=tpls[("loyalty_reward_code", "en_US")].id,
        use_examples=True,
    )
    assert [(b.kind, b.detail, b.icon) for b in code.buttons] == [("COPY_CODE", "CAFE10", "copy")]


def test_whatsapp_formatting_segments():
    segs = svc.segments("*482913* is your _code_, ~old~ ```mono``` {{1}}")
    flags = [(s.text, s.bold, s.italic, s.strike, s.mono, s.placeholder) for s in segs]
    assert flags[0] == ("482913", True, False, False, False, False)
    assert ("code", False, True, False, False, False) in flags
    assert ("old", False, False, True, False, False) in flags
    assert ("mono", False, False, False, True, False) in flags
    assert flags[-1] == ("{{1}}", False, False, False, False, True)


# ------------------------------------------------------------------------------ pre-flight


def test_missing_variable_names_the_field(bakery):
    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)
    values = {**ORDER_READY, "body.2": ""}
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("order_ready", "en_US")].id,
        values=values,
    )
    assert [f for f, _ in errors] == ["body.2"]
    assert "{{2}}" in errors[0].message
    bad = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("order_ready", "en_US")].id,
        values={**ORDER_READY, "body.3": "line\nbreak"},
    )
    assert [f for f, _ in bad] == ["body.3"]


def test_us_marketing_refused_canada_allowed(bakery):
    session, account, tpls = bakery
    tid = tpls[("weekend_treats_offer", "en_US")].id
    us = _conv(session, account, US)
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=us.id,
        template_id=tid,
        values=WEEKEND,
    )
    assert [f for f, _ in errors] == ["template"]
    assert "United States" in errors[0].message and "131049" in errors[0].message
    canada = _conv(session, account, CANADA)
    assert (
        send.validate_send(
            session=session,
            account_id=account.id,
            conversation_id=canada.id,
            template_id=tid,
            values=WEEKEND,
        )
        == []
    )
    # utility to the US number is fine
    assert (
        send.validate_send(
            session=session,
            account_id=account.id,
            conversation_id=us.id,
            template_id=tpls[("order_ready", "en_US")].id,
            values=ORDER_READY,
        )
        == []
    )


def test_paused_and_authentication_templates_refused(bakery):
    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("summer_menu_launch", "en_US")].id,
        values={"body.1": "Emma"},
    )
    assert errors[0].field == "template" and "paused" in errors[0].message.lower()
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("login_code", "en_US")].id,
        values={"body.1": "123456"},
    )
    assert any(f == "template" and "Authentication" in m for f, m in errors)


def test_opted_out_contact_refused_for_marketing_only(bakery):
    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)
    contact = session.get(Contact, conv.contact_id)
    contact.marketing_opted_out = True
    session.add(contact)
    session.commit()
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("weekend_treats_offer", "en_US")].id,
        values=WEEKEND,
    )
    assert [f for f, _ in errors] == ["template"] and "opted out" in errors[0].message
    assert (
        send.validate_send(
            session=session,
            account_id=account.id,
            conversation_id=conv.id,
            template_id=tpls[("order_ready", "en_US")].id,
            values=ORDER_READY,
        )
        == []
    )


@pytest.fixture
def media_dir(tmp_path, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    yield tmp_path / "media"
    reset_settings_cache()


def test_header_media_kind_and_size(bakery, media_dir):
    from ctreflex.services import media

    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)
    tid = tpls[("weekend_treats_offer", "en_US")].id
    values = {k: v for k, v in WEEKEND.items() if k != "header.media"}
    jpeg = media.store_upload(
        session=session,
        account_id=account.id,
        filename="box.jpg",
        data=JPEG,
        declared_mime="image/jpeg",
    )
    ok = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tid,
        values=values,
        header_media_file_id=jpeg.id,
    )
    assert ok == []
    missing = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tid,
        values=values,
    )
    assert [f for f, _ in missing] == ["header.media"]
    jpeg.size = 6_000_000  # over the 5 MB image limit
    session.add(jpeg)
    session.commit()
    big = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tid,
        values=values,
        header_media_file_id=jpeg.id,
    )
    assert [f for f, _ in big] == ["header.media"] and "5 MB" in big[0].message
    video = MediaFile(
        account_id=account.id,
        kind="video",
        mime_type="video/mp4",
        size=1000,
        sha256="x",
        provider_media_id="9001",
        storage_path="nowhere",
    )
    session.add(video)
    session.commit()
    wrong = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tid,
        values=values,
        header_media_file_id=video.id,
    )
    assert [f for f, _ in wrong] == ["header.media"]
    assert "image" in wrong[0].message and "video" in wrong[0].message


def _messages(session) -> int:
    return session.exec(select(func.count()).select_from(Message)).one()


def test_send_refused_before_any_graph_call(bakery, monkeypatch):
    session, account, tpls = bakery
    from ctreflex.services import graph

    def no_graph(number: BusinessNumber):
        raise AssertionError("the Graph API must not be called")

    monkeypatch.setattr(graph, "client_for", no_graph)
    before = _messages(session)
    tid = tpls[("order_ready", "en_US")].id
    us = _conv(session, account, US)
    with pytest.raises(SendRefused) as exc:
        asyncio.run(
            send.send_template(
                account_id=account.id,
                user_id=1,
                conversation_id=us.id,
                template_id=tid,
                values={**ORDER_READY, "body.2": ""},
            )
        )
    assert exc.value.field == "body.2"
    with pytest.raises(SendRefused) as exc:
        asyncio.run(
            send.send_template(
                account_id=account.id,
                user_id=1,
                conversation_id=us.id,
                template_id=tpls[("weekend_treats_offer", "en_US")].id,
                values=WEEKEND,
            )
        )
    assert exc.value.field == "template" and "United States" in exc.value.message
    assert _messages(session) == before


def test_template_paused_after_the_page_was_drawn_is_refused(bakery, monkeypatch):
    session, account, tpls = bakery
    from ctreflex.services import graph

    monkeypatch.setattr(graph, "client_for", lambda n: (_ for _ in ()).throw(AssertionError()))
    row = tpls[("order_ready", "en_US")]
    conv = _conv(session, account, CANADA)
    assert (
        send.validate_send(
            session=session,
            account_id=account.id,
            conversation_id=conv.id,
            template_id=row.id,
            values=ORDER_READY,
        )
        == []
    )
    row.status = "PAUSED"  # a status webhook arrives while the picker is open
    session.add(row)
    session.commit()
    with pytest.raises(SendRefused) as exc:
        asyncio.run(
            send.send_template(
                account_id=account.id,
                user_id=1,
                conversation_id=conv.id,
                template_id=row.id,
                values=ORDER_READY,
            )
        )
    assert exc.value.field == "template" and "paused" in exc.value.message.lower()


# ------------------------------------------------------------------------------ cost


def test_cost_categories(bakery):
    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)  # window open (23.6 hours ago)
    service = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=None
    )
    assert (service.category, service.meta_charged) == ("service", False)
    utility = tpls[("order_ready", "en_US")].id
    inside = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=utility
    )
    assert (inside.category, inside.meta_charged) == ("utility", False)
    assert inside.meta_note.startswith("Free")
    marketing = tpls[("weekend_treats_offer", "en_US")].id
    m = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=marketing
    )
    assert (m.category, m.meta_charged) == ("marketing", True)
    assert "Billed by Meta directly" in m.meta_note
    _close_window(session, conv)
    outside = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=utility
    )
    assert (outside.category, outside.meta_charged) == ("utility", True)
    assert "Billed by Meta directly" in outside.meta_note
    m = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=marketing
    )
    assert m.meta_charged is True


def test_cost_platform_fee_from_plan(bakery):
    session, account, _ = bakery
    conv = _conv(session, account, CANADA)
    view = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=None
    )
    assert (view.platform_fee_minor, view.currency, view.platform_fee) == (1, "USD", "$0.01")
    plan = session.get(Plan, account.plan_id)
    plan.fee_minor, plan.currency = 3, "EUR"
    session.add(plan)
    session.commit()
    view = svc.cost(
        session=session, account_id=account.id, conversation_id=conv.id, template_id=None
    )
    assert (view.platform_fee_minor, view.platform_fee) == (3, "€0.03")
    assert "€0.03 platform fee" in view.summary


def test_sms_stop_refuses_a_whatsapp_marketing_template(bakery):
    """One opt-out rule: a contact who replied STOP by SMS gets no WhatsApp marketing."""
    from ctreflex.services import optouts

    session, account, tpls = bakery
    conv = _conv(session, account, CANADA)
    optouts.record(
        session=session,
        contact_id=conv.contact_id,
        channel="sms",
        scope="all",
        action="out",
        source='SMS keyword "STOP"',
    )
    session.commit()
    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=conv.id,
        template_id=tpls[("weekend_treats_offer", "en_US")].id,
        values=WEEKEND,
    )
    assert [f for f, _ in errors] == ["template"] and "replied STOP by SMS" in errors[0].message
    assert (
        send.validate_send(
            session=session,
            account_id=account.id,
            conversation_id=conv.id,
            template_id=tpls[("order_ready", "en_US")].id,
            values=ORDER_READY,
        )
        == []
    )


# ------------------------------------------------------------------------------ messaging limit


def _opened_with(
    session, account, number_id: int, n: int, *, hours_ago: float = 1.0, prefix: str = "+4477009"
) -> None:
    """n new customers, each sent a template while their window was closed."""
    at = utc_now() - dt.timedelta(hours=hours_ago)
    for i in range(n):
        contact = Contact(account_id=account.id, e164=f"{prefix}{i:05d}", name=f"Lead {i}")
        session.add(contact)
        session.flush()
        conv = Conversation(
            account_id=account.id, contact_id=contact.id, business_number_id=number_id
        )
        session.add(conv)
        session.flush()
        session.add(
            Message(
                account_id=account.id,
                conversation_id=conv.id,
                business_number_id=number_id,
                direction="outbound",
                channel="whatsapp",
                kind="template",
                body="Your order is ready",
                status="delivered",
                created_at=at,
            )
        )
    session.commit()


def test_messaging_limit_counts_new_customers_warns_and_refuses_at_100(bakery, monkeypatch):
    from ctreflex.models import BusinessNumber
    from ctreflex.services import graph, number_limits

    session, account, tpls = bakery
    emma = _conv(session, account, CANADA)
    _close_window(session, emma)
    number = session.get(BusinessNumber, emma.business_number_id)
    number.messaging_limit = "TIER_50"
    session.add(number)
    session.commit()
    use = number_limits.limit_use(session=session, number_id=number.id)
    assert use.text == "0 of 50 in the last 24 h"

    # a template inside a customer's open window is not business-initiated
    maria = _conv(session, account, US)
    session.add(
        Message(account_id=account.id, conversation_id=maria.id, business_number_id=number.id,
                direction="outbound", channel="whatsapp", kind="template", body="x",
                status="sent")
    )
    _opened_with(session, account, number.id, 39)
    # older than 24 h: not counted
    _opened_with(session, account, number.id, 5, hours_ago=25, prefix="+4477007")
    use = number_limits.limit_use(session=session, number_id=number.id)
    assert (use.used, use.warn, use.full) == (39, False, False)
    _opened_with(session, account, number.id, 1, prefix="+4477008")
    use = number_limits.limit_use(session=session, number_id=number.id)
    assert use.text == "40 of 50 in the last 24 h" and use.warn and not use.full
    assert number_limits.limit_refusal(
        session=session, number_id=number.id, conversation_id=emma.id
    ) == ""

    more = [f"+4478009{i:05d}" for i in range(10)]
    for e164 in more:
        contact = Contact(account_id=account.id, e164=e164)
        session.add(contact)
        session.flush()
        conv = Conversation(account_id=account.id, contact_id=contact.id,
                            business_number_id=number.id)
        session.add(conv)
        session.flush()
        session.add(Message(account_id=account.id, conversation_id=conv.id,
                            business_number_id=number.id, direction="outbound",
                            channel="whatsapp", kind="template", body="x", status="sent",
                            created_at=utc_now() - dt.timedelta(minutes=30)))
    session.commit()
    use = number_limits.limit_use(session=session, number_id=number.id)
    assert use.text == "50 of 50 in the last 24 h" and use.full
    # the oldest counted customer leaves the rolling 24 h first
    assert abs((use.frees_at - (utc_now() + dt.timedelta(hours=23))).total_seconds()) < 120

    errors = send.validate_send(
        session=session,
        account_id=account.id,
        conversation_id=emma.id,
        template_id=tpls[("order_ready", "en_US")].id,
        values=ORDER_READY,
    )
    assert [f for f, _ in errors] == ["number"]
    assert "50 of 50 in the last 24 h" in errors[0].message and "frees up at" in errors[0].message

    monkeypatch.setattr(graph, "client_for", lambda n: (_ for _ in ()).throw(AssertionError()))
    before = _messages(session)
    with pytest.raises(SendRefused) as exc:
        asyncio.run(
            send.send_template(
                account_id=account.id,
                user_id=1,
                conversation_id=emma.id,
                template_id=tpls[("order_ready", "en_US")].id,
                values=ORDER_READY,
            )
        )
    assert exc.value.field == "number" and "messaging limit" in exc.value.message
    assert _messages(session) == before

    # a customer already counted, or one whose window is open, still gets it
    lead = session.exec(
        select(Conversation).join(Contact).where(Contact.e164 == "+447700900003")
    ).one()
    assert number_limits.limit_refusal(session=session, number_id=number.id,
                                 conversation_id=lead.id) == ""
    emma.window_expires_at = utc_now() + dt.timedelta(hours=3)
    session.add(emma)
    session.commit()
    assert number_limits.limit_refusal(session=session, number_id=number.id,
                                 conversation_id=emma.id) == ""
