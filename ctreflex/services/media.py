"""The media store: files on disk under the media folder, one MediaFile row each.

Three promises live here:
- an agent's upload is copied to disk in chunks with a running byte count, refused as soon as
  it passes the limit of its (sniffed) type: never held whole in memory (`store_upload_file`);
- a customer's file is kept only when its bytes really are an allowed type for its message
  kind; otherwise nothing is written and the message becomes the "sent a file this channel
  does not support" notice (`store_bytes`);
- `/media/{id}` shows a file inline only when the bytes on disk, sniffed again, are an
  allow-listed type equal to the stored one (`inline_type`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, MediaFile, Message
from ctreflex.settings import get_settings
from ctreflex.whatsapp.limits import (
    INLINE_MIME_TYPES,
    MB,
    MEDIA_RULES,
    SNIFF_BYTES,
    UNSUPPORTED_FILE_NOTICE,
    MediaRuleError,
    classify_upload,
    inbound_file_refusal,
    sniff_mime,
)

__all__ = [
    "CHUNK_BYTES",
    "MAX_UPLOAD_BYTES",
    "MediaRuleError",
    "absolute_path",
    "copy_capped",
    "inline_type",
    "save_upload",
    "sha256_matches",
    "store_bytes",
    "store_upload",
    "store_upload_file",
]

CHUNK_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = max(rule.max_bytes for rule in MEDIA_RULES.values())  # 100 MB (PDF)
_NOUNS = {"image": "Images", "video": "Videos", "document": "PDF documents"}


def _root() -> Path:
    return Path(get_settings().media_dir)


def absolute_path(media: MediaFile) -> Path:
    return _root() / media.storage_path


def _too_large(limit: int, size: int | None = None) -> MediaRuleError:
    kind = next((r.kind for r in MEDIA_RULES.values() if r.max_bytes == limit), None)
    noun = _NOUNS.get(kind or "", "Files")
    what = f"this file is {size / MB:.1f} MB" if size else "this file is larger"
    return MediaRuleError(
        f"{noun} can be up to {limit // MB} MB on WhatsApp; {what}.",
        reason="too_large",
        kind=kind,
        limit_bytes=limit,
    )


def copy_capped(
    chunks: Iterable[bytes],
    out: BinaryIO,
    *,
    limit_for: Callable[[bytes], int],
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> tuple[int, str, bytes]:
    """Copy chunks to `out`, hashing and counting as they pass; return (size, sha256, head).

    `limit_for(head)` is called once the first SNIFF_BYTES are in (or at the end for a shorter
    file): it returns the byte limit for that type (or raises MediaRuleError for a refused
    type). Until then `max_bytes` caps the copy. The copy stops, raising MediaRuleError
    ("too_large"), at the first chunk that takes the count past the limit: nothing after it is
    read and at most one chunk is held in memory.
    """
    digest = hashlib.sha256()
    head = b""
    limit: int | None = None
    total = 0
    for chunk in chunks:
        if not chunk:
            continue
        total += len(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
            if limit is None and len(head) >= SNIFF_BYTES:
                limit = limit_for(head)
        cap = max_bytes if limit is None else min(limit, max_bytes)
        if total > cap:
            raise _too_large(cap)
        digest.update(chunk)
        out.write(chunk)
    if limit is None:
        limit = limit_for(head)
        if total > limit:
            raise _too_large(limit, total)
    return total, digest.hexdigest(), head


def _file_chunks(file: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    return iter(lambda: file.read(size), b"")


def _place(account_id: int, tmp: str, digest: str) -> str:
    """Move a finished temp file to <account>/<sha256[:2]>/<sha256>; return the relative path."""
    relative = f"{account_id}/{digest[:2]}/{digest}"
    target = _root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.unlink(tmp)
    else:
        os.replace(tmp, target)
    return relative


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


def store_upload_file(
    *,
    session: Session,
    account_id: int,
    filename: str,
    file: BinaryIO,
    declared_mime: str,
    declared_size: int | None = None,
) -> MediaFile:
    """An agent's attachment, read from a file object in chunks (the framework's spooled
    upload): the declared size is checked first, then the bytes are copied to the media folder
    with a running count that stops at the limit of the sniffed type; the type is sniffed
    from the head and the product's limits applied (raises MediaRuleError naming the limit)."""
    if declared_size is not None and declared_size > MAX_UPLOAD_BYTES:
        raise _too_large(MAX_UPLOAD_BYTES, declared_size)

    def limit_for(head: bytes) -> int:
        # the type from the head (and the declared size when known, so a file declared too
        # large stops at its first chunk); the real size is counted as it streams
        kind, _mime = classify_upload(head, declared_mime, declared_size or len(head))
        return MEDIA_RULES[kind].max_bytes

    tmp_dir = _root() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest, head = copy_capped(_file_chunks(file), out, limit_for=limit_for)
        kind, mime = classify_upload(head, declared_mime, size)  # the final, exact check
        relative = _place(account_id, tmp, digest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    media = MediaFile(
        account_id=account_id,
        kind=kind,
        mime_type=mime,
        size=size,
        sha256=digest,
        filename=Path(filename or "").name[:255] or f"attachment.{mime.split('/')[-1]}",
        storage_path=relative,
        state="ready",
    )
    session.add(media)
    session.commit()
    return media


def save_upload(
    *,
    account_id: int,
    filename: str,
    file: BinaryIO,
    declared_mime: str,
    declared_size: int | None = None,
) -> MediaFile:
    """`store_upload_file` in its own database session: for the upload handlers, which run it
    in a worker thread (the chunked copy of up to 100 MB never blocks the event loop)."""
    from ctreflex import db

    with db.session_scope() as session:
        return store_upload_file(
            session=session,
            account_id=account_id,
            filename=filename,
            file=file,
            declared_mime=declared_mime,
            declared_size=declared_size,
        )


def store_upload(
    *, session: Session, account_id: int, filename: str, data: bytes, declared_mime: str
) -> MediaFile:
    """An attachment already in memory (small files, tests): same checks as a streamed one."""
    return store_upload_file(
        session=session,
        account_id=account_id,
        filename=filename,
        file=io.BytesIO(data),
        declared_mime=declared_mime,
        declared_size=len(data),
    )


def store_bytes(*, session: Session, media: MediaFile, data: bytes) -> MediaFile:
    """Bytes fetched for an inbound media placeholder. Kept only when the bytes are an allowed
    type for the message kind (sniffed; the declared type is not trusted): otherwise nothing is
    written, the file is marked "refused" (never served) and its message becomes the notice
    "<customer> sent a file this channel does not support"."""
    refusal = inbound_file_refusal(media.kind, media.mime_type, data[:SNIFF_BYTES])
    if refusal is not None:
        _refuse_inbound(session, media, refusal)
        return media
    relative, digest = _write(media.account_id, data)
    media.storage_path = relative
    media.size = len(data)
    media.mime_type = sniff_mime(data[:SNIFF_BYTES])
    media.state = "ready"
    media.fetch_error = ""
    if not media.sha256:
        media.sha256 = digest
    session.add(media)
    session.commit()
    return media


def _refuse_inbound(session: Session, media: MediaFile, detail: str) -> None:
    media.state = "refused"
    media.size = 0
    media.fetch_error = f"The customer's file was not kept: {detail}."[:1000]
    session.add(media)
    for message in session.exec(select(Message).where(Message.media_id == media.id)).all():
        contact = None
        conv = session.get(Conversation, message.conversation_id)
        if conv is not None:
            contact = session.get(Contact, conv.contact_id)
        first = ((contact.name or contact.profile_name) if contact else "") or "The customer"
        caption = (message.body or "").strip()
        message.body = f"{first.split()[0]} {UNSUPPORTED_FILE_NOTICE} ({detail})" + (
            f": {caption}" if caption else ""
        )
        message.kind = "unsupported"
        message.media_id = None
        session.add(message)
    session.commit()


def inline_type(media: MediaFile, path: Path) -> str | None:
    """The MIME type to show this stored file inline with, or None for a download: the bytes
    on disk are sniffed again and must be an allow-listed type equal to the stored one."""
    try:
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return None
    sniffed = sniff_mime(head)
    stored = (media.mime_type or "").split(";")[0].strip().lower()
    if sniffed in INLINE_MIME_TYPES and sniffed == stored:
        return sniffed
    return None


def sha256_matches(expected: str, data: bytes) -> bool:
    """Meta's webhooks carry the hash base64-encoded, its media look-up hex: accept either."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.strip() in {digest.hex(), base64.b64encode(digest).decode()}
