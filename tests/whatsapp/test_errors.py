import pickle
import re

import pytest

from ctreflex.whatsapp.codes import ERROR_HELP, describe_error
from ctreflex.whatsapp.errors import (
    AuthError,
    GraphAPIError,
    InvalidParameterError,
    MediaError,
    NotRegisteredError,
    PermissionDeniedError,
    RateLimitError,
    RegistrationRateLimitError,
    ServiceUnavailableError,
    TemplateError,
    VerificationCodeError,
    WindowClosedError,
    from_error_payload,
)
from tests.fixtures import fixture_path

REFERENCE = fixture_path("whatsapp", "error_codes.md")


def test_fixture_19_window_closed(fixture_json):
    err = from_error_payload(fixture_json("19"), 400)
    assert isinstance(err, WindowClosedError)
    assert err.code == 131047
    assert err.title == "Re-engagement message"
    assert err.message == "(#131047) Re-engagement message"
    assert err.details.startswith("Not sent: the customer has not messaged")
    assert err.fbtrace_id == "AfAKEtRace0000000001"
    assert err.http_status == 400
    assert err.error_type == "OAuthException"
    assert err.subcode is None
    assert "131047" in str(err) and "AfAKEtRace0000000001" in str(err)
    assert "template" in err.help.what_to_do


def test_fixture_20_rate_limit(fixture_json):
    err = from_error_payload(fixture_json("20"), 429)
    assert isinstance(err, RateLimitError)
    assert err.code == 130429
    assert err.title == "Rate limit hit"
    assert err.details == "Message throughput limit for this phone number has been reached."
    assert err.fbtrace_id == "AfAKEtRace0000000002"
    assert err.help.retryable is True


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (0, AuthError),
        (190, AuthError),
        (3, PermissionDeniedError),
        (10, PermissionDeniedError),
        (200, PermissionDeniedError),
        (250, PermissionDeniedError),
        (299, PermissionDeniedError),
        (4, RateLimitError),
        (80007, RateLimitError),
        (130429, RateLimitError),
        (131056, RateLimitError),
        (100, InvalidParameterError),
        (131008, InvalidParameterError),
        (131009, InvalidParameterError),
        (131047, WindowClosedError),
        (132000, TemplateError),
        (132001, TemplateError),
        (132015, TemplateError),
        (132016, TemplateError),
        (131052, MediaError),
        (131053, MediaError),
        (133010, NotRegisteredError),
        (133016, RegistrationRateLimitError),
        (136024, VerificationCodeError),
        (136025, VerificationCodeError),
        (131000, ServiceUnavailableError),
        (131016, ServiceUnavailableError),
        (131057, ServiceUnavailableError),
        (987654, GraphAPIError),
    ],
)
def test_code_families(code, cls):
    err = from_error_payload({"error": {"code": code, "message": f"(#{code}) x"}}, 400)
    assert type(err) is cls
    assert err.code == code


def test_all_optional_fields():
    payload = {
        "error": {
            "message": "(#131009) Parameter value is not valid",
            "type": "OAuthException",
            "code": "131009",
            "error_subcode": 2494010,
            "error_data": {"messaging_product": "whatsapp", "details": "bad id"},
            "error_user_title": "Bad",
            "error_user_msg": "Fix it",
            "is_transient": False,
            "fbtrace_id": "T1",
        }
    }
    err = from_error_payload(payload, 400)
    assert isinstance(err, InvalidParameterError)
    assert (err.code, err.subcode, err.details) == (131009, 2494010, "bad id")
    assert (err.error_user_title, err.error_user_msg, err.is_transient) == ("Bad", "Fix it", False)
    assert err.payload == payload
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is InvalidParameterError and clone.code == 131009


def test_non_json_bodies():
    err = from_error_payload({"raw": "<html>Bad Gateway</html>"}, 502)
    assert isinstance(err, ServiceUnavailableError)
    assert err.code is None and err.http_status == 502
    assert "Bad Gateway" in err.message
    assert err.help.retryable is True
    assert isinstance(from_error_payload({"raw": "nope"}, 401), AuthError)
    assert isinstance(from_error_payload({"raw": "slow"}, 429), RateLimitError)
    assert type(from_error_payload({"raw": "?"}, 404)) is GraphAPIError
    assert type(from_error_payload("not even a dict", 400)) is GraphAPIError


def test_webhook_error_shape_accepted():
    err = from_error_payload(
        {
            "code": 131053,
            "title": "Media upload error",
            "message": "Media upload error",
            "error_data": {"details": "Unsupported type"},
        },
        200,
    )
    assert isinstance(err, MediaError)
    assert err.title == "Media upload error" and err.details == "Unsupported type"


def _reference_codes() -> set[int]:
    text = REFERENCE.read_text()
    section = text.split("### 10.2", 1)[1].split("US marketing restriction", 1)[0]
    codes: set[int] = set()
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| code") or line.startswith("|---"):
            continue
        first = line.split("|")[1]
        for a, b in re.findall(r"(\d+)(?:\s*[–-]\s*(\d+))?", first):
            codes.add(int(a))
            if b:
                codes.add(int(b))
    return codes


def test_every_reference_code_has_help():
    codes = _reference_codes()
    assert {131047, 130429, 190, 133016, 135000, 299} <= codes
    missing = [c for c in codes if c not in ERROR_HELP and not 200 <= c <= 299]
    assert missing == []
    for c in codes:
        h = describe_error(c)
        assert h.title and h.plain_words and h.what_to_do
        assert not h.title.startswith("WhatsApp error (code")


def test_extra_codes_and_retryable_flags():
    for c in (131051, 131052, 136024, 136025, 132015, 132016):
        assert c in ERROR_HELP
    assert "24 hours" in ERROR_HELP[131047].plain_words
    assert ERROR_HELP[131047].retryable is False
    assert ERROR_HELP[130429].retryable is True
    assert ERROR_HELP[190].audience == "admin"
    assert describe_error(250) is ERROR_HELP[200]
    assert describe_error("131047") is ERROR_HELP[131047]


def test_fallback():
    h = describe_error(424242)
    assert "424242" in h.title and h.retryable is False
    assert describe_error(None).title == "WhatsApp error"
    assert describe_error("garbage").plain_words
