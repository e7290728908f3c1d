"""SMS segment counting, as carriers and providers count it.

A message that fits the GSM 03.38 alphabet (basic table plus the extension table, whose
characters take two septets: an escape and the character) is sent as GSM-7: 160 septets in one
segment, 153 per part once it has to be concatenated (the user data header takes the rest).
Anything else is sent as UCS-2 (UTF-16): 70 code units in one segment, 67 per part; characters
outside the Basic Multilingual Plane (most emoji) take two code units. Neither an escape
sequence nor a surrogate pair is split across two parts, so a part can end one unit short.
"""

from __future__ import annotations

import dataclasses

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclasses.dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int  # 0 for an empty message
    characters: int  # as the customer sees them (code points)
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    per_segment: int  # capacity of a segment at this length: 160/153 or 70/67
    remaining: int  # units left in the current (last) segment before another one starts

    @property
    def summary(self) -> str:
        """E.g. "2 SMS segments · 12 left · GSM-7"."""
        count = f"{self.segments} SMS segment{'s' if self.segments != 1 else ''}"
        return f"{count} · {self.remaining} left · {self.encoding}"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm_units(text: str) -> list[int]:
    return [2 if ch in GSM7_EXTENSION else 1 for ch in text]


def _ucs2_units(text: str) -> list[int]:
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(units: list[int], single: int, part: int) -> tuple[int, int, int]:
    """(segments, capacity per segment, units left in the last segment)."""
    total = sum(units)
    if total == 0:
        return 0, single, single
    if total <= single:
        return 1, single, single - total
    segments, used = 1, 0
    for size in units:  # an escape pair or a surrogate pair never straddles two parts
        if used + size > part:
            segments += 1
            used = 0
        used += size
    return segments, part, part - used


def count(text: str) -> SegmentInfo:
    """How `text` is encoded and how many segments it takes."""
    text = text or ""
    if is_gsm7(text):
        encoding, units = "GSM-7", _gsm_units(text)
        segments, per, left = _pack(units, GSM7_SINGLE, GSM7_PART)
    else:
        encoding, units = "UCS-2", _ucs2_units(text)
        segments, per, left = _pack(units, UCS2_SINGLE, UCS2_PART)
    return SegmentInfo(
        encoding=encoding,
        segments=segments,
        characters=len(text),
        units=sum(units),
        per_segment=per,
        remaining=left,
    )


def non_gsm_characters(text: str) -> list[str]:
    """The characters that force UCS-2, in order, once each (to tell the agent why)."""
    seen: list[str] = []
    for ch in text or "":
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION and ch not in seen:
            seen.append(ch)
    return seen
