"""Segment counting: GSM-7 (with the two-septet extension table) and UCS-2."""

import pytest

from ctreflex.sms.segments import count, is_gsm7, non_gsm_characters


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "remaining"),
    [
        ("", "GSM-7", 0, 160),
        ("Hello", "GSM-7", 1, 155),
        ("a" * 160, "GSM-7", 1, 0),
        ("a" * 161, "GSM-7", 2, 153 * 2 - 161),
        ("a" * 306, "GSM-7", 2, 0),
        ("a" * 307, "GSM-7", 3, 152),
        ("€" * 80, "GSM-7", 1, 0),  # 80 extension chars = 160 septets
        ("€" * 81, "GSM-7", 2, 153 * 2 - 162 - 1),  # no escape pair split: part 1 holds 152
        ("[x]", "GSM-7", 1, 155),  # [ and ] take two septets each
        ("a" * 159 + "€", "GSM-7", 2, 153 - (159 - 153) - 2),
        ("é ñ ü à Ä Ö ¿ ¡ £ ¥", "GSM-7", 1, 160 - 19),  # in the basic table
        ("ç", "UCS-2", 1, 69),  # lower-case ç is not GSM-7 (only Ç is)
        ("Hi 😀", "UCS-2", 1, 70 - 5),  # the emoji is a surrogate pair
        ("x" * 69 + "é" + "😀", "UCS-2", 2, 67 - 5),  # 72 units: 67 + 5
        ("ü" * 69 + "ç", "UCS-2", 1, 0),  # exactly 70
        ("ü" * 70 + "ç", "UCS-2", 2, 67 * 2 - 71),
        ("😀" * 35, "UCS-2", 1, 0),  # 70 code units
    ],
)
def test_count(text, encoding, segments, remaining):
    info = count(text)
    assert (info.encoding, info.segments) == (encoding, segments)
    assert info.remaining == remaining


def test_emoji_pairs_are_not_split_across_parts():
    info = count("😀" * 36)  # 72 units: part 1 holds 33 emoji (66 units), part 2 holds 3
    assert info.segments == 2 and info.per_segment == 67 and info.remaining == 67 - 6
    assert info.units == 72 and info.characters == 36


def test_extension_counts_two_septets_and_summary():
    info = count("Price: 5€ {today}")
    assert info.units == len("Price: 5€ {today}") + 3
    assert info.summary == f"1 SMS segment · {160 - info.units} left · GSM-7"


def test_tells_which_characters_force_ucs2():
    assert is_gsm7("Bonjour à tous") and not is_gsm7("Grüße “quoted”")
    assert non_gsm_characters("Grüße “quoted” “x”") == ["“", "”"]
