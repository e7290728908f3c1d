"""Numbers, money, file sizes and country and language names through Babel (CLDR data)."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.units import format_unit

#: The locale every page is written in (the product is English-only for now); dates use the
#: same one (services/timefmt.py).
LOCALE = "en"

# Meta's message-template languages (base codes of "Supported languages", WhatsApp Business
# Management API): the template picker's hint is the first of these a region speaks.
TEMPLATE_LANGUAGES = frozenset(
    (  # noqa: SIM905 - a word list reads best as words
        "af ar az bg bn ca cs da de el en es et fa fi fil fr ga gu ha he hi hr hu id it ja ka "
        "kk kn ko ky lo lt lv mk ml mr ms nb nl pa pl pt ro ru rw sk sl sq sr sv sw ta te th tr "
        "uk ur uz vi zh zu"
    ).split()
)


_LETTERS_THEN_DIGIT = re.compile(r"^(-?[A-Za-z]+)(?=\d)")


@functools.cache
def _locale(code: str = LOCALE) -> Locale:
    return Locale.parse(code)


def currency_digits(currency: str) -> int:
    """How many minor-unit digits a currency has (USD 2, JPY 0, KWD 3), from CLDR."""
    return get_currency_precision((currency or "USD").upper())


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units as the amount in the currency's own unit (150 JPY → 150)."""
    return Decimal(int(minor)).scaleb(-currency_digits(currency))


def format_money(minor: int, currency: str) -> str:
    """An amount kept in integer minor units, as people read it: ``$0.01``, ``€1.50``,
    ``¥150`` (the yen has no minor unit)."""
    code = (currency or "USD").upper()
    text = format_currency(to_major(minor, code), code, locale=_locale())
    # CLDR's currency spacing (Babel leaves it out): a code written in letters gets a
    # no-break space before the digits, "KWD 1.500", never "KWD1.500"
    return _LETTERS_THEN_DIGIT.sub("\\1\xa0", text)


def file_size(size: int) -> str:
    """A file's size in decimal units: ``512 B``, ``48 kB``, ``2.4 MB``."""
    if size < 1000:
        return f"{format_decimal(size, locale=_locale())} B"
    if size < 1_000_000:
        return format_unit(round(size / 1000), "digital-kilobyte", length="short", locale=_locale())
    return format_unit(
        size / 1_000_000, "digital-megabyte", length="short", format="#,##0.0", locale=_locale()
    )


def region_name(region: str) -> str:
    """A country's name from its ISO region code (``CA`` → ``Canada``); "" when unknown."""
    return _locale().territories.get((region or "").upper(), "")


def language_name(code: str) -> str:
    """A template language code as words: ``es_MX`` → ``Spanish (Mexico)``; the code itself
    when CLDR does not know it."""
    try:
        return Locale.parse((code or "").replace("-", "_")).get_display_name(LOCALE) or code
    except (ValueError, UnknownLocaleError):
        return code


def region_language(region: str, default: str = "en") -> str:
    """The language a customer in ``region`` most likely reads templates in: the first of the
    region's official (or de facto) languages in CLDR that Meta offers templates in."""
    for language in get_official_languages((region or "").upper(), de_facto=True):
        if language in TEMPLATE_LANGUAGES:
            return language
    return default
