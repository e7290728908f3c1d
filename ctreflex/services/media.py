"""The media store: files on disk under the media folder, one MediaFile row each."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path

from sqlmodel import Session

from ctreflex.models import MediaFile
from ctreflex.settings import get_settings
from ctreflex.whatsapp.limits import MediaRuleError, classify_upload

__all__ = ["MediaRuleError", "absolute_path", "sha256_matches", "store_bytes", "store_upload"]


def _root() -> Path:
    return Path(get_settings().media_dir)


def absolute_path(media: MediaFile) -> Path:
    return _root() / media.storage_path


def _write(account_id: int, data: bytes) -> tuple[str, str]:
    """Write bytes atomically under <account>/<sha256>; return (relative path, sha256 hex)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{account_id}/{digest[:2]}/{digest}"
    target = _root() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return relative, digest


def store_upload(
    *, session: Session, account_id: int, filename: str, data: bytes, declared_mime: str
) -> MediaFile:
    """An agent's attachment: the type is sniffed from the bytes and the product's limits
    applied (raises MediaRuleError with a message naming the limit)."""
    kind, mime = classify_upload(data[:8192], declared_mime, len(data))
    relative, digest = _write(account_id, data)
    media = MediaFile(
        account_id=account_id,
        kind=kind,
        mime_type=mime,
        size=len(data),
        sha256=digest,
        filename=Path(filename or "").name[:255] or f"attachment.{mime.split('/')[-1]}",
        storage_path=relative,
        state="ready",
    )
    session.add(media)
    session.commit()
    return media


def store_bytes(*, session: Session, media: MediaFile, data: bytes) -> MediaFile:
    """Bytes fetched for an inbound media placeholder."""
    relative, digest = _write(media.account_id, data)
    media.storage_path = relative
    media.size = len(data)
    media.state = "ready"
    media.fetch_error = ""
    if not media.sha256:
        media.sha256 = digest
    session.add(media)
    session.commit()
    return media


def sha256_matches(expected: str, data: bytes) -> bool:
    """Meta's webhooks carry the hash base64-encoded, its media look-up hex: accept either."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.strip() in {digest.hex(), base64.b64encode(digest).decode()}
