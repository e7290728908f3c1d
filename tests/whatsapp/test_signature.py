import hashlib
import hmac

import pytest

from ctreflex.whatsapp.signature import sign, verify_handshake, verify_signature

SECRET = "app-secret-123"


def test_sign_matches_hmac(fixture_bytes):
    body = fixture_bytes("01")
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == "sha256=" + expected


def test_valid_signature_accepted(fixture_bytes):
    body = fixture_bytes("09")  # contains a non-ASCII emoji
    header = sign(SECRET, body)
    assert verify_signature(SECRET, body, header)
    assert verify_signature(SECRET.encode(), body, header.encode())
    assert verify_signature(SECRET, body, "  " + header.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256",
        "sha1=abc",
        "deadbeef",
        "sha256=zz" + "0" * 62,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 64,
    ],
)
def test_missing_or_malformed_rejected(header):
    assert verify_signature(SECRET, b"{}", header) is False


def test_other_secret_or_other_body_rejected():
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = sign("someone-else", body)
    assert verify_signature(SECRET, body, header) is False
    assert verify_signature(SECRET, body + b" ", sign(SECRET, body)) is False
    assert verify_signature("", body, sign("", body)) is False


def test_handshake():
    assert verify_handshake("subscribe", "tok", "12345", "tok") == "12345"
    assert verify_handshake("subscribe", "bad", "12345", "tok") is None
    assert verify_handshake("unsubscribe", "tok", "12345", "tok") is None
    assert verify_handshake(None, "tok", "12345", "tok") is None
    assert verify_handshake("subscribe", None, "12345", "tok") is None
    assert verify_handshake("subscribe", "", "12345", "") is None
    assert verify_handshake("subscribe", "tok", None, "tok") is None
    assert verify_handshake("subscribe", "tök", "c", "tök") == "c"
