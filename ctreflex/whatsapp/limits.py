"""The product's WhatsApp message and attachment rules, as data (see product-rules.md).

Sizes use decimal megabytes (5 MB = 5,000,000 bytes): where Meta's exact unit is unknown the
stricter reading is enforced. Text length is counted in user-perceived characters (extended
grapheme clusters, the ``regex`` package's ``\\X``), as the simulator does.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype
import regex

__all__ = [
    "AUDIO_UNSUPPORTED_REASON",
    "INBOUND_AUDIO_NOTICE",
    "MAX_CAPTION_CHARS",
    "MAX_TEXT_CHARS",
    "MEDIA_RULES",
    "MediaRule",
    "MediaRuleError",
    "TextTooLongError",
    "check_text",
    "classify_upload",
    "grapheme_count",
    "inbound_support",
    "inbound_file_refusal",
    "sniff_mime",
    "INBOUND_MIME_TYPES",
    "INLINE_MIME_TYPES",
    "SNIFF_BYTES",
    "UNSUPPORTED_FILE_NOTICE",
]

MB = 1_000_000
MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024  # Meta's caption limit (unconfirmed in the reference)
SNIFF_BYTES = 8192  # pass at least this many leading bytes to classify_upload

AUDIO_UNSUPPORTED_REASON = (
    "Audio files and voice messages are not supported on the WhatsApp channel"
)
INBOUND_AUDIO_NOTICE = "sent a voice message, which this channel does not support"
UNSUPPORTED_FILE_NOTICE = "sent a file this channel does not support"

# Stored media that /media/{id} may show inline (the type re-sniffed from the stored bytes must
# be one of these and match the stored type); anything else is served as a download.
INLINE_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "video/mp4", "video/3gpp", "application/pdf"}
)
# What a customer's file may be, per message kind, for it to be stored at all (sniffed bytes).
INBOUND_MIME_TYPES: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
    "video": frozenset({"video/mp4", "video/3gpp"}),
    "document": frozenset({"application/pdf"}),
}


@dataclass(frozen=True, slots=True)
class MediaRule:
    kind: str  # image | video | document
    mime_types: tuple[str, ...]
    max_bytes: int
    label: str  # user-facing, e.g. "JPEG or PNG"

    @property
    def max_mb(self) -> int:
        return self.max_bytes // MB


MEDIA_RULES: dict[str, MediaRule] = {
    "image": MediaRule("image", ("image/jpeg", "image/png"), 5 * MB, "JPEG or PNG"),
    "video": MediaRule("video", ("video/mp4", "video/3gpp"), 16 * MB, "MP4 or 3GPP"),
    "document": MediaRule("document", ("application/pdf",), 100 * MB, "PDF"),
}

_MIME_TO_KIND = {m: r.kind for r in MEDIA_RULES.values() for m in r.mime_types}
_MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "video/3gp": "video/3gpp",
    "application/x-pdf": "application/pdf",
}


class MediaRuleError(ValueError):
    """An attachment the product refuses; ``user_message`` is safe to show as is."""

    def __init__(
        self,
        user_message: str,
        *,
        reason: str = "unsupported_type",
        kind: str | None = None,
        limit_bytes: int | None = None,
    ) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.reason = reason  # unsupported_type | too_large | audio | empty | unrecognised
        self.kind = kind
        self.limit_bytes = limit_bytes


class TextTooLongError(ValueError):
    def __init__(self, length: int, limit: int = MAX_TEXT_CHARS) -> None:
        super().__init__(f"Message is too long: {length:,} characters (WhatsApp allows {limit:,}).")
        self.length = length
        self.limit = limit


def _normalise_mime(mime: str | None) -> str:
    m = (mime or "").split(";")[0].strip().lower()
    return _MIME_ALIASES.get(m, m)


def _isobmff_mime(head: bytes) -> str | None:
    """Brand-based sniffing for ISO-BMFF files (filetype misses real 3GPP files and takes
    M4A audio for MP4 video)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12].decode("latin-1")
    if brand.startswith(("3gp", "3g2", "3ge", "3gg", "3gs")):
        return "video/3gpp"
    if brand in ("M4A ", "M4B ", "M4P "):
        return "audio/mp4"
    if brand == "qt  ":
        return "video/quicktime"
    return None


def sniff_mime(head: bytes) -> str:
    """The type the leading bytes really are ("" when unknown): filetype plus ISO-BMFF brands."""
    head = bytes(head[:SNIFF_BYTES])
    guess = filetype.guess(head) if head else None
    return _isobmff_mime(head) or (_normalise_mime(guess.mime) if guess else "")


def inbound_file_refusal(kind: str, declared_mime: str | None, head: bytes) -> str | None:
    """Why a customer's fetched file is not kept (a notice detail), or None when its bytes are
    an allowed type for the message kind. The declared type is never trusted on its own."""
    allowed = INBOUND_MIME_TYPES.get(kind)
    if not allowed:
        return f"{kind or 'unknown'} files are not kept"
    declared = _normalise_mime(declared_mime)
    if declared and declared not in allowed and declared != "application/octet-stream":
        return f"declared as {declared[:60]}"
    sniffed = sniff_mime(head)
    if sniffed not in allowed:
        return f"the file is {sniffed[:60] or 'not a recognised ' + kind}"
    return None


def classify_upload(data_head: bytes, declared_mime: str | None, size: int) -> tuple[str, str]:
    """Decide ``(kind, mime)`` for an outbound attachment, or raise :class:`MediaRuleError`.

    The type is sniffed from the leading bytes (``filetype``); the declared MIME type is only
    used for the audio message when sniffing fails. Returns the sniffed MIME type.
    """
    declared = _normalise_mime(declared_mime)
    if size <= 0 or not data_head:
        raise MediaRuleError("The file is empty.", reason="empty")
    head = bytes(data_head[:SNIFF_BYTES])
    guess = filetype.guess(head)
    sniffed = _isobmff_mime(head) or (_normalise_mime(guess.mime) if guess else "")
    if sniffed.startswith("audio/") or (not sniffed and declared.startswith("audio/")):
        raise MediaRuleError(AUDIO_UNSUPPORTED_REASON, reason="audio", kind="audio")
    kind = _MIME_TO_KIND.get(sniffed)
    if kind is None:
        if not sniffed:
            raise MediaRuleError(
                "This file type can't be recognised. WhatsApp attachments must be JPEG or PNG "
                "images, MP4 or 3GPP videos, or PDF documents.",
                reason="unrecognised",
            )
        if sniffed.startswith("image/"):
            what = "Only JPEG and PNG images can be sent on WhatsApp"
        elif sniffed.startswith("video/"):
            what = "Only MP4 and 3GPP videos can be sent on WhatsApp"
        else:
            what = "Only PDF documents can be sent on WhatsApp"
        raise MediaRuleError(
            f"{what} (this file is {_describe(sniffed, guess)}).",
            reason="unsupported_type",
        )
    rule = MEDIA_RULES[kind]
    if size > rule.max_bytes:
        noun = {"image": "Images", "video": "Videos", "document": "PDF documents"}[kind]
        raise MediaRuleError(
            f"{noun} can be up to {rule.max_mb} MB on WhatsApp; this file is {size / MB:.1f} MB.",
            reason="too_large",
            kind=kind,
            limit_bytes=rule.max_bytes,
        )
    return kind, sniffed


def _describe(mime: str, guess: object) -> str:
    if mime == "video/quicktime":
        return "MOV"
    ext = getattr(guess, "extension", None)
    return ext.upper() if ext else mime


def inbound_support(message_type: str, mime_type: str | None = None) -> tuple[bool, str | None]:
    """Whether an inbound message kind is rendered, and the notice to show when it is not."""
    t = message_type
    if t in ("image", "video"):
        declared = _normalise_mime(mime_type)
        if declared and declared not in INBOUND_MIME_TYPES[t]:
            return False, f"{UNSUPPORTED_FILE_NOTICE} ({declared[:60]})"
        return True, None
    if t in ("text", "reaction", "button", "interactive", "location", "contacts"):
        return True, None
    if t == "document":
        if _normalise_mime(mime_type) in ("", "application/pdf"):
            return True, None
        return False, "sent a document type this channel does not support (only PDF)"
    if t == "audio":
        return False, INBOUND_AUDIO_NOTICE
    if t == "sticker":
        return False, "sent a sticker, which this channel does not show"
    return False, f"sent a message this channel does not support ({t})"


# ---------------------------------------------------------------------------- text length

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """Characters as the customer sees them (an emoji, flag or accented letter counts 1)."""
    return len(_GRAPHEME.findall(text)) if text else 0


def check_text(body: str, *, limit: int = MAX_TEXT_CHARS) -> int:
    """Validate a free-form text body; returns its length or raises."""
    if not body or not body.strip():
        raise ValueError("Message is empty.")
    n = grapheme_count(body)
    if n > limit:
        raise TextTooLongError(n, limit)
    return n
