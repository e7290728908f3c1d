"""The provider's webhook signature (Twilio's X-Twilio-Signature).

The signature is base64(HMAC-SHA1(auth_token, url + the POST parameters sorted by name, each
name immediately followed by its value)), where url is the full URL the provider called,
query string included. A name given several times contributes each distinct value, sorted
(as the provider's own validators do). Compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

HEADER = "X-Twilio-Signature"

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), str(v)) for k, v in items]


def compute_signature(auth_token: str, url: str, params: Params = ()) -> str:
    data = url + "".join(k + v for k, v in sorted(set(_pairs(params))))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_signature(auth_token: str, url: str, params: Params, signature: str | None) -> bool:
    if not signature or not auth_token:
        return False
    expected = compute_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())
