"""Tokens at rest encrypted under the retired published default key, re-encrypted under ours.

Before issue 11 an unset CTREFLEX_SECRET_KEY meant the published `dev-only-secret-change-me`.
It now means a key generated into data/secret_key, so an existing install's stored tokens would
no longer decrypt. At start-up each stored token that the current key cannot read but the old
default can is re-encrypted under the current key (nothing is gained by leaving it readable
with a published key); tokens under any other key are left alone (decrypt names the setting).
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from sqlmodel import Session, select

from ctreflex.models import BusinessNumber
from ctreflex.services import crypto
from ctreflex.settings import get_settings

LEGACY_DEFAULT_KEYS = ("dev-only-secret-change-me",)


def _reencrypted(token: str) -> str | None:
    """`token` under the current key, when only a legacy default key reads it; else None."""
    try:
        crypto.decrypt(token)
        return None  # the current key reads it
    except ValueError:
        pass
    for legacy in LEGACY_DEFAULT_KEYS:
        try:
            plain = crypto._fernet(legacy).decrypt(token.encode()).decode()
        except InvalidToken:
            continue
        return crypto.encrypt(plain)
    return None


def reencrypt_legacy_tokens(*, session: Session) -> int:
    """Re-encrypt every legacy-key token of every business number; returns how many."""
    if get_settings().secret_key.get_secret_value() in LEGACY_DEFAULT_KEYS:
        return 0
    count = 0
    for number in session.exec(select(BusinessNumber)).all():
        if number.access_token_encrypted:
            new = _reencrypted(number.access_token_encrypted)
            if new:
                number.access_token_encrypted = new
                session.add(number)
                count += 1
        cfg = number.sms_provider_config or {}
        if cfg.get("auth_token_encrypted"):
            new = _reencrypted(str(cfg["auth_token_encrypted"]))
            if new:
                number.sms_provider_config = {**cfg, "auth_token_encrypted": new}
                session.add(number)
                count += 1
    session.commit()
    return count
