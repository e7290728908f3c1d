"""The inbox's read side: list search, filters and sort; thread rows; mark_read."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from ctreflex.models import Account, Contact, Conversation, MediaFile, Message, User
from ctreflex.services import conversations as convs
from ctreflex.services import thread_view

TZ = "America/New_York"


@pytest.fixture
def bakery(seeded) -> Account:
    return seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()


def _conv(session, account: Account, name: str) -> Conversation:
    return session.exec(
        select(Conversation)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Contact.name == name, Conversation.account_id == account.id)
    ).one()


def _rows(session, account, **kw):
    return convs.list_rows(session=session, account_id=account.id, tz=TZ, **kw)


def _add(session, conv: Conversation, **fields) -> Message:
    values = {
        "account_id": conv.account_id,
        "conversation_id": conv.id,
        "direction": "inbound",
        "channel": "whatsapp",
        "kind": "text",
        "status": "received",
        **fields,
    }
    msg = Message(**values)
    session.add(msg)
    session.commit()
    return msg


# ------------------------------------------------------------------------------ list


def test_list_is_newest_first_with_window_chips_and_country(seeded, bakery):
    rows = _rows(seeded, bakery)
    assert len(rows) == 12
    assert rows[0].name == "Maria Lopez"
    maria = rows[0]
    assert maria.number == "+1 212-555-0142"
    assert maria.country == "United States" and maria.region == "US"
    assert maria.window_state == "open" and maria.window_text.startswith("closes in 23 h")
    assert maria.window_expires_ms > 0
    assert maria.channel == "whatsapp"
    jack = next(r for r in rows if r.name == "Jack Wilson")
    assert jack.country == "Australia"  # the geocoder has no name for AU mobiles
    carlos = next(r for r in rows if r.name == "Carlos Hernández")
    assert (carlos.window_state, carlos.window_text, carlos.window_short) == (
        "closed",
        "Window closed",
        "Closed",
    )


def test_other_accounts_conversations_never_show(seeded, bakery):
    harbor = seeded.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    assert _rows(seeded, harbor) == []
    maria = _conv(seeded, bakery, "Maria Lopez")
    assert (
        convs.get_detail(session=seeded, account_id=harbor.id, conversation_id=maria.id, tz=TZ)
        is None
    )
    assert (
        thread_view.thread_rows(
            session=seeded, account_id=harbor.id, conversation_id=maria.id, tz=TZ
        )
        == []
    )
    assert not convs.mark_read(session=seeded, account_id=harbor.id, conversation_id=maria.id)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("maria", {"Maria Lopez"}),
        ("  MARÍA ", {"Maria Lopez"}),  # accents, case and spaces don't matter
        ("Sofia", {"Sofía García"}),
        ("chloe", {"Chloé Martin"}),
        ("hernandez", {"Carlos Hernández"}),
        ("+34", {"Sofía García"}),  # a country code: numbers that start with it
        ("612 34", {"Sofía García", "Chloé Martin"}),  # digits typed with a space
        ("+34 612 34", {"Sofía García"}),
        ("gluten", {"Dev Patel", "Sofía García"}),  # message text
        ("212 555", {"Maria Lopez"}),  # number, typed with spaces
        ("+44 20", {"Oliver Hughes"}),
        ("4915112345678", {"Lena Schmidt"}),
        ("100%", set()),  # LIKE wildcards are literal
        ("", None),
    ],
)
def test_search_by_name_number_and_message_text(seeded, bakery, query, expected):
    names = {r.name for r in _rows(seeded, bakery, query=query)}
    if expected is None:
        assert len(names) == 12
    else:
        assert names == expected


def test_search_matches_any_message_not_only_the_last(seeded, bakery):
    dev = _conv(seeded, bakery, "Dev Patel")
    _add(seeded, dev, body="Also: a sourdough boule please", direction="inbound")
    names = {r.name for r in _rows(seeded, bakery, query="boule")}
    assert names == {"Dev Patel"}


def test_filters(seeded, bakery):
    now = dt.datetime.now(dt.UTC)
    by = {f: {r.name for r in _rows(seeded, bakery, filter=f, now=now)} for f in convs.FILTERS}
    assert len(by["all"]) == 12
    # seed: every third contact has one unread message
    assert by["unread"] == {"Maria Lopez", "Chloé Martin", "Lucas Silva", "Jack Wilson"}
    assert by["closing"] == {"Oliver Hughes", "Chloé Martin", "Emma Tremblay"}
    assert by["closing"] <= by["open"]
    assert by["closed"] == {"Aiko Tanaka", "Lucas Silva", "Priya Sharma", "Carlos Hernández"}
    assert by["open"] | by["closed"] == by["all"] and not by["open"] & by["closed"]
    counts = convs.filter_counts(session=seeded, account_id=bakery.id, now=now)
    assert counts == {f: len(names) for f, names in by.items()}


def test_never_opened_window_counts_as_closed(seeded, bakery):
    lena = _conv(seeded, bakery, "Lena Schmidt")
    lena.window_expires_at = None
    seeded.add(lena)
    seeded.commit()
    row = next(r for r in _rows(seeded, bakery, filter="closed") if r.name == "Lena Schmidt")
    assert (row.window_state, row.window_short, row.window_expires_ms) == ("none", "Not opened", 0)


def test_filter_and_search_combine(seeded, bakery):
    names = {r.name for r in _rows(seeded, bakery, query="gluten", filter="unread")}
    assert names == set()
    names = {r.name for r in _rows(seeded, bakery, query="a", filter="unread")}
    assert names <= {"Maria Lopez", "Chloé Martin", "Lucas Silva", "Jack Wilson"}


def test_sort_by_window_closing_soonest(seeded, bakery):
    now = dt.datetime.now(dt.UTC)
    rows = _rows(seeded, bakery, sort="closing", now=now)
    open_rows = [r for r in rows if r.window_state in ("open", "closing")]
    closed_rows = [r for r in rows if r.window_state in ("closed", "none")]
    assert rows == open_rows + closed_rows  # open windows first
    assert [r.name for r in open_rows[:3]] == ["Emma Tremblay", "Chloé Martin", "Oliver Hughes"]
    expiries = [r.window_expires_ms for r in open_rows]
    assert expiries == sorted(expiries)
    assert closed_rows[0].name == "Aiko Tanaka"  # then the most recently active closed one


def test_preview_prefix_marks_our_last_message(seeded, bakery):
    dev = _conv(seeded, bakery, "Dev Patel")
    _add(seeded, dev, direction="outbound", body="Yes, until 6 pm!", status="sent")
    row = next(r for r in _rows(seeded, bakery) if r.name == "Dev Patel")
    assert row.preview_prefix == "You: "
    maria = next(r for r in _rows(seeded, bakery) if r.name == "Maria Lopez")
    assert maria.preview_prefix == ""


def test_mark_read_clears_the_unread_count_once(seeded, bakery):
    maria = _conv(seeded, bakery, "Maria Lopez")
    assert maria.unread_count == 1
    assert convs.mark_read(session=seeded, account_id=bakery.id, conversation_id=maria.id)
    assert not convs.mark_read(session=seeded, account_id=bakery.id, conversation_id=maria.id)
    row = next(r for r in _rows(seeded, bakery) if r.name == "Maria Lopez")
    assert row.unread == 0


def test_next_list_change_is_the_soonest_window_edge(seeded, bakery):
    now = dt.datetime.now(dt.UTC)
    rows = _rows(seeded, bakery, now=now)
    seconds = convs.next_list_change(rows, now)
    # Emma's window (opened 23.6 h ago) closes in about 24 minutes: the soonest edge
    assert seconds is not None and 20 * 60 < seconds < 25 * 60


# ------------------------------------------------------------------------------ thread


def test_thread_rows_in_order_with_day_separators_and_local_times(seeded, bakery):
    aiko = _conv(seeded, bakery, "Aiko Tanaka")  # wrote 30 h ago; our message 40 min before
    now = dt.datetime.now(dt.UTC)
    _add(seeded, aiko, body="Are you open today?", created_at=now - dt.timedelta(minutes=5))
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=aiko.id, tz=TZ, now=now
    )
    assert [r.direction for r in rows] == ["outbound", "inbound", "inbound"]
    assert [r.show_day for r in rows][2] is True
    assert rows[0].show_day is True
    assert rows[-1].day_label == "Today"
    new_york = (now - dt.timedelta(minutes=5)).astimezone(ZoneInfo(TZ))
    assert rows[-1].time == new_york.strftime("%H:%M")  # the account's zone, not UTC
    assert rows[0].status == "read" and rows[0].status_label == "Read"
    assert rows[1].status_label == "Received"


def test_failed_message_explains_the_error_and_offers_retry_when_it_helps(seeded, bakery):
    dev = _conv(seeded, bakery, "Dev Patel")
    _add(seeded, dev, direction="outbound", body="a", status="failed", error_code=131047)
    _add(seeded, dev, direction="outbound", body="b", status="failed", error_code=131000)
    _add(seeded, dev, direction="outbound", body="c", status="failed", error_title="Timeout")
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=dev.id, tz=TZ
    )
    window, meta, local = rows[-3:]
    assert window.failed and window.error_title == "24-hour window closed"
    assert "template" in window.error_todo and not window.retryable
    assert meta.retryable and meta.error_plain
    assert local.retryable and local.error_title == "Timeout"
    assert rows[0].failed is False and rows[0].error_title == ""


def test_reply_quotes_both_ways_and_unknown_originals(seeded, bakery):
    maria = _conv(seeded, bakery, "Maria Lopez")
    original = seeded.exec(select(Message).where(Message.conversation_id == maria.id)).first()
    ours = _add(seeded, maria, direction="outbound", body="Sure, 5 works!", reply_to_id=original.id)
    _add(seeded, maria, body="Great", reply_to_id=ours.id, reply_to_provider_id="wamid.X")
    _add(seeded, maria, body="And this?", reply_to_provider_id="wamid.UNKNOWN")
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=maria.id, tz=TZ
    )
    by_body = {r.body: r for r in rows}
    assert by_body["Sure, 5 works!"].reply_author == "Maria Lopez"
    assert by_body["Sure, 5 works!"].reply_snippet.startswith("Hi! Can I pick up")
    assert by_body["Great"].reply_author == "You"
    assert by_body["Great"].reply_snippet == "Sure, 5 works!"
    assert by_body["And this?"].has_reply and by_body["And this?"].reply_missing
    assert not by_body["Great"].reply_missing
    author, snippet = convs.message_snippet(
        session=seeded, account_id=bakery.id, conversation_id=maria.id, message_id=ours.id
    )
    assert (author, snippet) == ("You", "Sure, 5 works!")
    dev = _conv(seeded, bakery, "Dev Patel")
    assert convs.message_snippet(
        session=seeded, account_id=bakery.id, conversation_id=dev.id, message_id=ours.id
    ) == ("", "")


def test_reactions_media_and_notices(seeded, bakery):
    lucas = _conv(seeded, bakery, "Lucas Silva")
    pdf = MediaFile(
        account_id=bakery.id,
        kind="document",
        mime_type="application/pdf",
        size=2_400_000,
        sha256="0" * 64,
        filename="menu.pdf",
    )
    img = MediaFile(
        account_id=bakery.id, kind="image", mime_type="image/png", size=5120, sha256="1" * 64
    )
    seeded.add_all([pdf, img])
    seeded.commit()
    _add(seeded, lucas, direction="outbound", kind="document", media_id=pdf.id, reaction="👍")
    _add(seeded, lucas, kind="image", media_id=img.id, body="our cake")
    _add(seeded, lucas, kind="audio", body="")
    _add(seeded, lucas, kind="sticker", body="")
    _add(seeded, lucas, kind="unsupported", payload={"unsupported": {"type": "poll"}})
    _add(seeded, lucas, kind="system", body="Lucas changed their phone number")
    _add(
        seeded,
        lucas,
        kind="location",
        payload={"location": {"latitude": 1.5, "longitude": 2.5, "name": "Shop"}},
    )
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=lucas.id, tz=TZ
    )
    doc, image, audio, sticker, poll, system, location = rows[-7:]
    assert doc.media_kind == "document" and doc.media_name == "menu.pdf"
    assert doc.media_size == "2.4 MB" and doc.media_download_url == f"/media/{pdf.id}?download=1"
    assert doc.reaction == "👍"
    assert image.media_url == f"/media/{img.id}" and image.body == "our cake"
    assert audio.is_notice and audio.notice_text == (
        "Lucas sent a voice message, which this channel does not support"
    )
    assert sticker.is_notice and sticker.notice_text.startswith("Lucas sent a sticker")
    assert poll.notice_text == "Lucas sent a poll, which this channel does not support"
    assert system.notice_text == "Lucas changed their phone number"
    assert location.tag == "Location" and location.body == "Shop"
    assert location.link.endswith("q=1.5,2.5")


def test_outbound_rows_name_the_agent(seeded, bakery):
    sam = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    dev = _conv(seeded, bakery, "Dev Patel")
    _add(seeded, dev, direction="outbound", body="On it", status="pending", sender_user_id=sam.id)
    row = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=dev.id, tz=TZ
    )[-1]
    assert row.sender == "Sam Rivers" and row.status_label == "Sending"


def test_detail_panel_facts(seeded, bakery):
    chloe = _conv(seeded, bakery, "Chloé Martin")
    detail = convs.get_detail(session=seeded, account_id=bakery.id, conversation_id=chloe.id, tz=TZ)
    assert detail.name == "Chloé Martin" and detail.first_name == "Chloé"
    assert detail.country == "France" and detail.profile_name == "Chloé Martin"
    assert detail.window_state == "closing" and detail.window_text.startswith("closes in ")
    assert detail.business_number.startswith("Demo Bakery (+1 555")
    assert detail.first_contact and detail.window_closes_at


# ------------------------------------------------------------------------------ channels, templates


def test_thread_marks_channels_and_each_switch(seeded, bakery):
    carlos = _conv(seeded, bakery, "Carlos Hernández")  # seeded: STOP by SMS, then WhatsApp
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=carlos.id, tz=TZ
    )
    assert [r.channel for r in rows] == ["sms", "sms", "whatsapp", "whatsapp"]
    assert [r.channel_label for r in rows] == ["SMS", "SMS", "WhatsApp", "WhatsApp"]
    assert [r.switch_label for r in rows] == ["", "", "Switched to WhatsApp", ""]
    _add(seeded, carlos, body="Hola", channel="sms", created_at=carlos.last_message_at)
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=carlos.id, tz=TZ
    )
    assert rows[-1].switch_label == "Switched to SMS"


def test_sent_template_rows_carry_the_preview_and_the_quick_reply_quotes_it(seeded, bakery):
    oliver = _conv(seeded, bakery, "Oliver Hughes")
    rendered = {
        "header_text": None,
        "header_media_kind": "image",
        "body": "Hi Oliver, our scones are fresh",
        "footer": "Demo Bakery",
        "buttons": [
            {"type": "URL", "text": "Order online", "url": "https://x.example/o?p=AB"},
            {"type": "QUICK_REPLY", "text": "Save me a box", "payload": "Save me a box"},
        ],
        "header_media": None,
    }
    sent = _add(
        seeded,
        oliver,
        direction="outbound",
        kind="template",
        status="delivered",
        body=rendered["body"],
        payload={"template": "weekend_treats_offer", "rendered": rendered},
    )
    _add(seeded, oliver, kind="button", body="Save me a box", reply_to_id=sent.id)
    rows = thread_view.thread_rows(
        session=seeded, account_id=bakery.id, conversation_id=oliver.id, tz=TZ
    )
    tpl, tap = rows[-2], rows[-1]
    assert tpl.is_template and tpl.template.body == "Hi Oliver, our scones are fresh"
    assert tpl.template.header_kind == "image"
    assert [b.text for b in tpl.template.buttons] == ["Order online"]
    assert [b.text for b in tpl.template.quick_replies] == ["Save me a box"]
    assert tpl.template.time == tpl.time
    assert not tap.is_template and tap.body == "Save me a box"
    assert (tap.reply_author, tap.reply_snippet) == ("You", "Hi Oliver, our scones are fresh")


def test_resent_messages_link_both_ways(seeded, bakery):
    lena = _conv(seeded, bakery, "Lena Schmidt")
    old = _add(seeded, lena, direction="outbound", status="failed", body="Ready", error_code=131026)
    new = _add(
        seeded,
        lena,
        direction="outbound",
        channel="sms",
        status="sent",
        body="Ready",
        payload={"resent_from": old.id},
    )
    old.payload = {"resent_as": new.id}
    seeded.add(old)
    seeded.commit()
    rows = {
        r.id: r
        for r in thread_view.thread_rows(
            session=seeded, account_id=bakery.id, conversation_id=lena.id, tz=TZ
        )
    }
    assert rows[old.id].resent_as_id == new.id and rows[old.id].resend_offered is False
    assert rows[new.id].resent_from_id == old.id
    assert rows[new.id].switch_label == "Switched to SMS"


def test_ledger_rows_for_the_contact_panel(seeded, bakery):
    carlos = _conv(seeded, bakery, "Carlos Hernández")
    (row,) = convs.ledger_rows(
        session=seeded, account_id=bakery.id, conversation_id=carlos.id, tz=TZ
    )
    assert row.summary == "Opted out of all SMS"
    assert row.source == 'SMS keyword "STOP"' and row.action == "out" and row.when
    harbor = seeded.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    assert (
        convs.ledger_rows(session=seeded, account_id=harbor.id, conversation_id=carlos.id, tz=TZ)
        == []
    )


@pytest.mark.parametrize(
    ("region", "language"), [("MX", "es"), ("FR", "fr"), ("US", "en"), ("", "en")]
)
def test_language_hint_orders_the_picker(region, language):
    assert convs.language_hint(region) == language


def test_a_customers_own_last_message_is_not_previewed_as_ours(seeded, bakery):
    """Carlos' SMS STOP and the provider's reply were stored after his later WhatsApp message
    (higher ids, earlier times): the preview is his own message, without "You:"."""
    carlos = next(r for r in _rows(seeded, bakery) if r.name == "Carlos Hernández")
    assert carlos.preview == "Gracias por el pastel." and carlos.preview_prefix == ""


def test_first_contact_is_the_earliest_message_in_the_users_zone(seeded, bakery):
    carlos = _conv(seeded, bakery, "Carlos Hernández")
    first = seeded.exec(
        select(Message.created_at)
        .where(Message.conversation_id == carlos.id)
        .order_by(Message.created_at)
    ).first()
    contact = seeded.get(Contact, carlos.contact_id)
    assert first < contact.created_at - dt.timedelta(days=3)  # the row is younger than the talk
    detail = convs.get_detail(
        session=seeded, account_id=bakery.id, conversation_id=carlos.id, tz="Pacific/Kiritimati"
    )
    local = first.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert detail.first_contact == f"{local.day} {local.strftime('%B %Y')}"


def test_an_opt_out_has_one_date_in_the_ledger_and_the_refusal(seeded, bakery):
    from ctreflex.services import optouts

    bakery.timezone = "Pacific/Kiritimati"  # UTC+14: 19 Nov 12:00 UTC is 20 Nov there
    seeded.add(bakery)
    dev = _conv(seeded, bakery, "Dev Patel")
    optouts.record(
        session=seeded,
        contact_id=dev.contact_id,
        channel="whatsapp",
        scope="marketing",
        action="out",
        source="agent",
        at=dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.UTC),
    )
    seeded.commit()
    ok, reason = optouts.can_send(
        session=seeded, contact_id=dev.contact_id, channel="whatsapp", marketing=True
    )
    assert not ok and "20 Nov 2026" in reason and "19 Nov" not in reason
    (entry,) = convs.ledger_rows(
        session=seeded, account_id=bakery.id, conversation_id=dev.id, tz=bakery.timezone
    )
    assert "20 Nov 2026" in entry.when
