import json
from datetime import UTC, datetime

import pytest

from ctreflex.whatsapp.webhooks import (
    AudioPayload,
    ButtonPayload,
    DocumentPayload,
    ImagePayload,
    InteractivePayload,
    LocationPayload,
    MessagesValue,
    ReactionPayload,
    TemplateStatusUpdate,
    TextPayload,
    UnsupportedPayload,
    VideoPayload,
    WebhookParseError,
    parse_webhook,
)

PNID = "200000000000001"


def only_message(payload):
    msgs = list(payload.iter_messages())
    assert len(msgs) == 1
    return msgs[0]


def only_status(payload):
    sts = list(payload.iter_statuses())
    assert len(sts) == 1
    return sts[0][1]


def test_01_text(fixture_bytes):
    p = parse_webhook(fixture_bytes("01"))
    assert p.object == "whatsapp_business_account"
    assert p.entry[0].id == "100000000000001"
    change = p.entry[0].changes[0]
    assert change.field == "messages"
    assert isinstance(change.value, MessagesValue)
    value, contact, msg = only_message(p)
    assert value.metadata.phone_number_id == PNID
    assert value.metadata.display_phone_number == "15550100100"
    assert contact.name == "Maria Lopez" and contact.wa_id == "15550100142"
    assert msg.from_ == "15550100142"
    assert msg.id.startswith("wamid.")
    assert msg.timestamp == "1767261600"
    assert msg.timestamp_utc == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert msg.type == "text"
    assert isinstance(msg.payload, TextPayload)
    assert msg.text.body.startswith("Hi! Can I move")
    assert msg.context is None and msg.reply_to_id is None
    assert msg.raw["from"] == "15550100142"


def test_02_reply_context(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("02")))
    assert msg.context.from_ == "15550100100"
    assert msg.reply_to_id == "wamid.GAsxNTU1MDEwMDE0MhUCABIYFEZBS0VPVVRUWFQwMDAyMDAwMDAwAA=="
    assert msg.context.forwarded is False


@pytest.mark.parametrize(
    ("name", "cls", "attr", "mime"),
    [
        ("03", ImagePayload, "image", "image/jpeg"),
        ("04", DocumentPayload, "document", "application/pdf"),
        ("05", VideoPayload, "video", "video/mp4"),
        ("06", AudioPayload, "audio", "audio/ogg; codecs=opus"),
    ],
)
def test_media_messages(fixture_bytes, name, cls, attr, mime):
    _, _, msg = only_message(parse_webhook(fixture_bytes(name)))
    assert msg.type == attr
    media = getattr(msg, attr)
    assert isinstance(media, cls)
    assert msg.media is media
    assert media.id.startswith("9000000000")
    assert media.mime_type == mime
    assert media.sha256


def test_03_image_caption(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("03")))
    assert msg.image.caption == "This is the crack in the crown"


def test_04_document_filename(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("04")))
    assert msg.document.filename == "claim-form-2026.pdf"
    assert msg.document.caption == "Insurance claim form, signed"


def test_06_voice(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("06")))
    assert msg.audio.voice is True


def test_07_template_quick_reply(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("07")))
    assert msg.type == "button"
    assert isinstance(msg.payload, ButtonPayload)
    assert msg.button.payload == "CONFIRM_APPT_4411"
    assert msg.button.text == "Confirm"
    assert msg.reply_to_id.endswith("UEwwMDAxMDAwMDAwAA==")


def test_08_interactive_button_reply(fixture_bytes):
    _, contact, msg = only_message(parse_webhook(fixture_bytes("08")))
    assert isinstance(msg.interactive, InteractivePayload)
    assert msg.interactive.type == "button_reply"
    assert msg.interactive.button_reply.id == "slot_fri_1500"
    assert msg.interactive.reply_title == "Fri 3:00 pm"
    assert contact.name == "Dev Patel"


def test_09_reaction(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("09")))
    assert isinstance(msg.reaction, ReactionPayload)
    assert msg.reaction.emoji == "👍"
    assert msg.reaction.removed is False
    assert msg.reaction.message_id.startswith("wamid.")


def test_reaction_removed(fixture_json):
    data = fixture_json("09")
    m = data["entry"][0]["changes"][0]["value"]["messages"][0]
    m["reaction"].pop("emoji")
    _, _, msg = only_message(parse_webhook(data))
    assert msg.reaction.removed is True
    m["reaction"]["emoji"] = ""
    _, _, msg = only_message(parse_webhook(data))
    assert msg.reaction.removed is True


def test_10_unsupported(fixture_bytes):
    _, _, msg = only_message(parse_webhook(fixture_bytes("10")))
    assert msg.type == "unsupported"
    assert isinstance(msg.unsupported, UnsupportedPayload)
    assert msg.unsupported.type == "poll"
    assert msg.errors[0].code == 131051
    assert msg.errors[0].title == "Message type unknown"
    assert msg.errors[0].details.startswith("This message type")
    assert msg.errors[0].help.title == "Unsupported message type"


def test_11_status_sent(fixture_bytes):
    st = only_status(parse_webhook(fixture_bytes("11")))
    assert st.status == "sent" and st.rank == 1
    assert st.recipient_id == "15550100142"
    assert st.biz_opaque_callback_data == "conv=8812;msg=55120"
    assert st.conversation.id == "4f1e9a7c2b8d0e6f3a5c7b9d1e2f4a6c"
    assert st.conversation.expiration_timestamp == "1767348060"
    assert st.conversation.origin_type == "utility"
    assert st.pricing.billable is True
    assert st.pricing.pricing_model == "PMP"
    assert st.pricing.category == "utility"
    assert st.pricing.type == "regular"
    assert st.timestamp_utc == datetime.fromtimestamp(1767261660, tz=UTC)


def test_12_13_status_order(fixture_bytes):
    delivered = only_status(parse_webhook(fixture_bytes("12")))
    read = only_status(parse_webhook(fixture_bytes("13")))
    assert delivered.status == "delivered" and read.status == "read"
    assert read.rank > delivered.rank
    assert delivered.conversation.expiration_timestamp is None
    assert read.conversation is None
    assert read.pricing.billable is False
    assert read.pricing.type == "free_customer_service"


def test_14_status_failed(fixture_bytes):
    st = only_status(parse_webhook(fixture_bytes("14")))
    assert st.is_failed and st.rank == 100
    assert st.error.code == 131047
    assert st.error.title == "Re-engagement message"
    assert "24 hours" in st.error.details
    assert st.error.href.startswith("https://developers.facebook.com")
    assert "template" in st.error.help.what_to_do
    assert st.pricing is None


def test_15_batch(fixture_bytes):
    p = parse_webhook(fixture_bytes("15"))
    msgs = list(p.iter_messages())
    assert [m.type for _, _, m in msgs] == ["text", "location"]
    assert [c.name for _, c, _ in msgs] == ["Dev Patel", "Oliver Hughes"]
    loc = msgs[1][2].location
    assert isinstance(loc, LocationPayload)
    assert loc.latitude == pytest.approx(51.5072)
    assert loc.longitude == pytest.approx(-0.1276)
    assert loc.name == "Parking entrance"


def test_all_webhook_fixtures_parse(fixture_bytes):
    for i in range(1, 16):
        p = parse_webhook(fixture_bytes(f"{i:02d}"))
        assert p.entry and p.entry[0].changes


def test_unknown_type_and_fields_preserved(fixture_json):
    data = fixture_json("01")
    value = data["entry"][0]["changes"][0]["value"]
    value["brand_new_value_key"] = {"x": 1}
    value["contacts"][0]["user_id"] = "US.1349"
    value["contacts"][0]["profile"]["username"] = "maria"
    msg = value["messages"][0]
    msg.pop("text")
    msg["type"] = "poll"
    msg["poll"] = {"question": "Which day?", "options": ["Mon", "Tue"]}
    msg["from_user_id"] = "US.1349"
    msg["shiny_new_field"] = [1, 2, 3]
    p = parse_webhook(json.dumps(data).encode())
    v, contact, m = only_message(p)
    assert m.type == "poll"
    assert m.is_known_type is False
    assert m.payload == {"question": "Which day?", "options": ["Mon", "Tue"]}
    assert m.raw == msg
    assert m.model_extra["shiny_new_field"] == [1, 2, 3]
    assert m.from_user_id == "US.1349"
    assert contact.user_id == "US.1349" and contact.profile.username == "maria"
    assert v.model_extra["brand_new_value_key"] == {"x": 1}


def test_malformed_known_payload_does_not_sink_batch(fixture_json):
    data = fixture_json("15")
    data["entry"][0]["changes"][0]["value"]["messages"][1]["location"] = "not-an-object"
    msgs = list(parse_webhook(data).iter_messages())
    assert len(msgs) == 2
    bad = msgs[1][2]
    assert bad.location is None
    assert "location" in bad.payload_errors
    assert bad.raw["location"] == "not-an-object"


def test_unknown_status_string_tolerated(fixture_json):
    data = fixture_json("11")
    data["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    st = only_status(parse_webhook(data))
    assert st.status == "deleted" and st.rank == 0


def test_template_status_update_and_unknown_field():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "100000000000001",
                "time": 1767261600,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 300000000000004,
                            "message_template_name": "missed_call_followup",
                            "message_template_language": "en_GB",
                            "reason": "NONE",
                            "other_info": {"title": "x"},
                        },
                    },
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": "15550100100",
                            "event": "THROUGHPUT_UPGRADE",
                        },
                    },
                ],
            }
        ],
    }
    p = parse_webhook(body)
    upd = p.entry[0].changes[0].value
    assert isinstance(upd, TemplateStatusUpdate)
    assert upd.event == "APPROVED"
    assert upd.message_template_id == "300000000000004"
    assert upd.message_template_language == "en_GB"
    assert upd.model_extra["other_info"] == {"title": "x"}
    assert list(p.template_updates()) == [upd]
    other = p.entry[0].changes[1].value
    assert other == {"display_phone_number": "15550100100", "event": "THROUGHPUT_UPGRADE"}
    assert list(p.iter_messages()) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[1,2]",
        b'{"object": "x"}',
        b'{"entry": "nope"}',
        b"\xff\xfe",
        b'{"entry": NaN, "object": "w"}',
        b"[" * 1000 + b"]" * 1000,
    ],
)
def test_malformed_raises(raw):
    with pytest.raises(WebhookParseError):
        parse_webhook(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": []}]}',
         "entry[0]: id: Field required"),
        (b'{"object": "w", "entry": [{"id": "1", "changes": [{"field": "messages", '
         b'"value": {"metadata": {"phone_number_id": "2"}, "messages": [{"id": "x"}]}}]}]}',
         "entry[0].changes[0].value.messages[0]: from: Field required"),
    ],
)
def test_a_malformed_part_is_left_out_and_described(raw, problem):
    payload = parse_webhook(raw)
    assert problem in payload.problems
    assert list(payload.iter_messages()) == []


def test_parse_accepts_str_and_dict(fixture_bytes):
    raw = fixture_bytes("01")
    assert parse_webhook(raw.decode()) == parse_webhook(json.loads(raw))
