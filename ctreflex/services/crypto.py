"""Secrets at rest: access tokens are Fernet-encrypted with a key derived from the secret key."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ctreflex.settings import get_settings


@functools.cache
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ctreflex", info=b"token-at-rest")
    return Fernet(base64.urlsafe_b64encode(key.derive(secret.encode())))


def encrypt(plain: str) -> str:
    return _fernet(get_settings().secret_key.get_secret_value()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return (
            _fernet(get_settings().secret_key.get_secret_value()).decrypt(token.encode()).decode()
        )
    except InvalidToken as exc:
        raise ValueError(
            "A stored access token cannot be decrypted: was CTREFLEX_SECRET_KEY changed?"
        ) from exc


def token_digest(token: str) -> str:
    """What is stored for a session token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
