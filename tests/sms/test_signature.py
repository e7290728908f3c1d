"""X-Twilio-Signature: the provider's published vectors, and tampering fails."""

from ctreflex.sms import compute_signature, verify_signature
from ctreflex.sms_simulator import sign as simulator_sign

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_published_vector():
    assert compute_signature("12345", URL, PARAMS) == SIGNATURE
    assert verify_signature("12345", URL, PARAMS, SIGNATURE)
    assert verify_signature("12345", URL, list(reversed(PARAMS.items())), SIGNATURE)


def test_repeated_names_vector():
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert compute_signature("12345", URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_anything_changed_fails():
    assert not verify_signature("12346", URL, PARAMS, SIGNATURE)
    assert not verify_signature("12345", URL + "&x=1", PARAMS, SIGNATURE)
    assert not verify_signature("12345", URL.replace("https", "http"), PARAMS, SIGNATURE)
    assert not verify_signature("12345", URL, {**PARAMS, "Digits": "9999"}, SIGNATURE)
    assert not verify_signature("12345", URL, {**PARAMS, "Extra": ""}, SIGNATURE)
    assert not verify_signature("12345", URL, PARAMS, None)
    assert not verify_signature("12345", URL, PARAMS, "")
    assert not verify_signature("12345", URL, PARAMS, "invalid 王")
    assert not verify_signature("", URL, PARAMS, SIGNATURE)


def test_simulator_signs_the_same_way():
    # written separately; both must agree with the published vector
    assert simulator_sign("12345", URL, list(PARAMS.items())) == SIGNATURE
