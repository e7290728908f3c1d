"""Webhook signature (``X-Hub-Signature-256``) and verification handshake helpers.

Always verify the exact raw request bytes, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "verify_handshake", "verify_signature"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def _key(app_secret: str | bytes) -> bytes:
    return app_secret.encode("utf-8") if isinstance(app_secret, str) else bytes(app_secret)


def sign(app_secret: str | bytes, raw_body: bytes) -> str:
    """``"sha256=<lowercase hex HMAC-SHA256(app_secret, raw_body)>"``."""
    digest = hmac.new(_key(app_secret), bytes(raw_body), hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(
    app_secret: str | bytes, raw_body: bytes, header_value: str | bytes | None
) -> bool:
    """True iff ``header_value`` is a valid signature of ``raw_body``.

    Missing, empty, malformed (no ``sha256=`` prefix, not 64 hex digits) → False. Compared in
    constant time. An empty app secret never validates.
    """
    if not app_secret or header_value is None:
        return False
    if isinstance(header_value, bytes):
        try:
            header_value = header_value.decode("ascii")
        except UnicodeDecodeError:
            return False
    value = header_value.strip()
    if not value.lower().startswith(_PREFIX):
        return False
    given = value[len(_PREFIX) :].strip().lower()
    if len(given) != 64 or any(c not in "0123456789abcdef" for c in given):
        return False
    expected = sign(app_secret, raw_body)[len(_PREFIX) :]
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def verify_handshake(
    mode: str | None, token: str | None, challenge: str | None, expected_token: str | None
) -> str | None:
    """The ``hub.challenge`` to echo iff ``hub.mode == "subscribe"`` and the token matches.

    Returns None otherwise (answer 403). Token compared in constant time; an empty expected
    token never matches.
    """
    if mode != "subscribe" or not expected_token or token is None or challenge is None:
        return None
    if hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8")):
        return challenge
    return None
