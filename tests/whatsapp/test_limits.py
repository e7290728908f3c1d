import pytest

from ctreflex.whatsapp.limits import (
    AUDIO_UNSUPPORTED_REASON,
    INBOUND_AUDIO_NOTICE,
    MAX_TEXT_CHARS,
    MEDIA_RULES,
    MediaRuleError,
    TextTooLongError,
    check_text,
    classify_upload,
    grapheme_count,
    inbound_support,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 300
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 300
GP3 = b"\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00" + b"\x00" * 300
OGG = b"OggS\x00\x02" + b"\x00" * 300
MP3 = b"ID3\x03\x00\x00\x00" + b"\x00" * 300
GIF = b"GIF89a" + b"\x00" * 300
ZIP = b"PK\x03\x04" + b"\x00" * 300
MB = 1_000_000


@pytest.mark.parametrize(
    ("head", "declared", "expected"),
    [
        (JPEG, "image/jpeg", ("image", "image/jpeg")),
        (PNG, "application/octet-stream", ("image", "image/png")),
        (PDF, "application/pdf", ("document", "application/pdf")),
        (MP4, "video/mp4", ("video", "video/mp4")),
        (GP3, None, ("video", "video/3gpp")),
        (JPEG, "application/pdf", ("image", "image/jpeg")),  # bytes win over the label
    ],
)
def test_classify_accepts(head, declared, expected):
    assert classify_upload(head, declared, 1000) == expected


@pytest.mark.parametrize(
    ("head", "size", "limit_mb", "kind"),
    [
        (JPEG, 5 * MB + 1, 5, "image"),
        (MP4, 16 * MB + 1, 16, "video"),
        (PDF, 100 * MB + 1, 100, "document"),
    ],
)
def test_classify_too_large(head, size, limit_mb, kind):
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(head, None, size)
    assert ei.value.reason == "too_large"
    assert ei.value.kind == kind
    assert f"{limit_mb} MB" in ei.value.user_message
    assert classify_upload(head, None, limit_mb * MB)[0] == kind  # exactly at the limit


@pytest.mark.parametrize("head", [OGG, MP3])
def test_audio_refused(head):
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(head, "audio/ogg", 1000)
    assert ei.value.reason == "audio"
    assert ei.value.user_message == AUDIO_UNSUPPORTED_REASON


def test_audio_by_declared_type_when_unrecognised():
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(b"garbage bytes", "audio/mpeg", 100)
    assert ei.value.reason == "audio"


@pytest.mark.parametrize(("head", "word"), [(GIF, "JPEG and PNG"), (ZIP, "PDF")])
def test_other_types_refused(head, word):
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(head, None, 1000)
    assert ei.value.reason == "unsupported_type"
    assert word in ei.value.user_message


def test_unrecognised_and_empty():
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(b"just some text", "application/pdf", 14)
    assert ei.value.reason == "unrecognised"
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(b"", "application/pdf", 0)
    assert ei.value.reason == "empty"


def test_rules_table():
    assert MEDIA_RULES["image"].max_bytes == 5 * MB
    assert MEDIA_RULES["video"].mime_types == ("video/mp4", "video/3gpp")
    assert MEDIA_RULES["document"].mime_types == ("application/pdf",)
    assert "audio" not in MEDIA_RULES


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("", 0),
        ("abc", 3),
        ("👍🏽", 1),
        ("👨‍👩‍👧‍👦", 1),
        ("🇺🇸🇬🇧", 2),
        ("e\u0301", 1),
        ("1️⃣", 1),
        ("❤️", 1),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 1),
        ("\r\n", 1),
        ("한국어", 3),
        ("\u1100\u1161\u11a8", 1),
        ("ñandú", 5),
    ],
)
def test_grapheme_count(text, n):
    assert grapheme_count(text) == n


def test_check_text_limit():
    assert check_text("a" * MAX_TEXT_CHARS) == MAX_TEXT_CHARS
    assert check_text("👍🏽" * MAX_TEXT_CHARS) == MAX_TEXT_CHARS  # emoji count as one
    with pytest.raises(TextTooLongError) as ei:
        check_text("a" * (MAX_TEXT_CHARS + 1))
    assert ei.value.length == MAX_TEXT_CHARS + 1
    assert "4,096" in str(ei.value)
    with pytest.raises(ValueError):
        check_text("   ")


def test_inbound_support():
    assert inbound_support("text") == (True, None)
    assert inbound_support("document", "application/pdf") == (True, None)
    assert inbound_support("document", "application/msword")[0] is False
    assert inbound_support("audio") == (False, INBOUND_AUDIO_NOTICE)
    assert inbound_support("sticker")[0] is False
    ok, notice = inbound_support("poll")
    assert ok is False and "poll" in notice


def test_isobmff_brands():
    m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 300
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(m4a, "video/mp4", 1000)
    assert ei.value.reason == "audio"
    mov = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 300
    with pytest.raises(MediaRuleError) as ei:
        classify_upload(mov, "video/quicktime", 1000)
    assert "MP4 and 3GPP" in ei.value.user_message and "MOV" in ei.value.user_message
