"""Tiny but real sample files for simulated customer media (built in code, no assets)."""

from __future__ import annotations

import base64
import struct
import zlib
from functools import cache


def png(width: int = 64, height: int = 64, rgb: tuple[int, int, int] = (232, 160, 72)) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def jpeg(blocks: int = 8, gray: int = 200) -> bytes:
    """Baseline grayscale JPEG of (8*blocks)² pixels of one shade."""
    size = 8 * blocks
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, size, size, 1) + b"\x01\x11\x00"
    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_vals = list(range(12))
    dht_dc = (b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 12) + b"\x00" + bytes(dc_bits)
              + bytes(dc_vals))
    ac_bits = [1] + [0] * 15
    dht_ac = b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 1) + b"\x10" + bytes(ac_bits) + b"\x00"
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    dc_codes = {0: "00", 1: "010", 2: "011", 3: "100", 4: "101", 5: "110", 6: "1110",
                7: "11110", 8: "111110", 9: "1111110", 10: "11111110", 11: "111111110"}
    coef = 8 * (gray - 128)
    cat = abs(coef).bit_length()
    mag = coef if coef >= 0 else coef + (1 << cat) - 1
    bits = dc_codes[cat] + (format(mag, f"0{cat}b") if cat else "") + "0"
    bits += ("00" + "0") * (blocks * blocks - 1)
    bits += "1" * (-len(bits) % 8)
    data = bytearray()
    for i in range(0, len(bits), 8):
        byte = int(bits[i:i + 8], 2)
        data.append(byte)
        if byte == 0xFF:
            data.append(0x00)
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + dqt + sof + dht_dc + dht_ac + sos + bytes(data) + b"\xff\xd9"


def pdf(text: str = "Demo Bakery order form") -> bytes:
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def mp4() -> bytes:
    """A structurally valid (not playable) ISO-BMFF file: ftyp + free + empty mdat."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
    free = struct.pack(">I", 8) + b"free"
    mdat = struct.pack(">I", 8) + b"mdat"
    return ftyp + free + mdat


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_opus() -> bytes:
    """One Ogg page holding an OpusHead packet (what a voice note starts with)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    header = (b"OggS" + bytes([0, 2]) + struct.pack("<qIII", 0, 0x53494D31, 0, 0)
              + bytes([1, len(head)]))
    page = bytearray(header + head)
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    return bytes(page)


WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


@cache
def sample_for(kind: str) -> tuple[bytes, str, str | None]:
    """(bytes, mime type, filename) for a simulated inbound media message."""
    if kind == "image":
        return jpeg(), "image/jpeg", None
    if kind == "video":
        return mp4(), "video/mp4", None
    if kind == "document":
        return pdf(), "application/pdf", "order-form.pdf"
    if kind in ("audio", "voice"):
        return ogg_opus(), "audio/ogg; codecs=opus", None
    if kind == "sticker":
        return WEBP, "image/webp", None
    raise ValueError(kind)
