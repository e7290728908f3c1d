"""Parsing the provider's form-encoded webhooks (recorded payloads in tests/fixtures/sms)."""

import pytest

from ctreflex.sms import SMSWebhookError, parse_form, parse_inbound, parse_status


def test_inbound_text(sms_fixture):
    msg = parse_inbound(sms_fixture("inbound_sms"))
    assert msg.message_sid == "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert (msg.from_, msg.to) == ("+12125550142", "+15550100150")
    assert msg.body == "Hi! Is the sourdough ready €5? 😀"
    assert msg.account_sid.startswith("AC") and not msg.is_mms and msg.from_country == "US"


def test_inbound_mms_lists_every_file(sms_fixture):
    msg = parse_inbound(sms_fixture("inbound_mms"))
    assert msg.is_mms and [m.content_type for m in msg.media] == ["image/jpeg", "image/png"]
    assert msg.media[1].url.endswith("/Media/ME22")


@pytest.mark.parametrize(
    ("name", "status", "inbox", "code"),
    [
        ("status_sent", "sent", "sent", None),
        ("status_delivered", "delivered", "delivered", None),
        ("status_undelivered", "undelivered", "failed", 30006),
    ],
)
def test_status_callbacks(sms_fixture, name, status, inbox, code):
    st = parse_status(sms_fixture(name))
    assert (st.message_status, st.inbox_status, st.error_code) == (status, inbox, code)
    assert st.is_failed is (inbox == "failed")


@pytest.mark.parametrize(
    "body",
    [b"", b"Body=hi", b"MessageSid=SM1&From=%2B1&To=%2B2", b"MessageSid=SM1&AccountSid=AC1&To=x"],
)
def test_incomplete_inbound_is_refused(body):
    with pytest.raises(SMSWebhookError):
        parse_inbound(body)


def test_bad_error_code_and_missing_status():
    with pytest.raises(SMSWebhookError):
        parse_status(b"MessageSid=SM1&AccountSid=AC1&MessageStatus=failed&ErrorCode=x")
    with pytest.raises(SMSWebhookError):
        parse_status(b"MessageSid=SM1&AccountSid=AC1")


def test_parse_form_keeps_order_and_repeats():
    assert parse_form(b"MediaUrl=a&Body=&MediaUrl=b") == [
        ("MediaUrl", "a"),
        ("Body", ""),
        ("MediaUrl", "b"),
    ]
