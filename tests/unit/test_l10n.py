"""Money, sizes, dates and names come from Babel (CLDR): what the pages show for the demo
(English) stays as it was, and currencies keep their own number of decimals."""

import datetime as dt

import pytest

from ctreflex.services import conversations as convs
from ctreflex.services import l10n, timefmt


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (1, "USD", "$0.01"),
        (0, "USD", "$0.00"),
        (150, "EUR", "€1.50"),
        (123456, "GBP", "£1,234.56"),
        (150, "JPY", "¥150"),  # the yen has no minor unit: 150 minor units are 150 yen
        (1500, "KWD", "KWD 1.500"),  # three decimals
    ],
)
def test_money_is_kept_in_minor_units_and_shown_with_the_currency_s_own_decimals(
    minor, currency, shown
):
    assert l10n.format_money(minor, currency).replace("\xa0", " ") == shown


def test_currency_digits_come_from_cldr():
    assert [l10n.currency_digits(c) for c in ("USD", "JPY", "KWD")] == [2, 0, 3]
    assert str(l10n.to_major(150, "JPY")) == "150" and str(l10n.to_major(150, "USD")) == "1.50"


@pytest.mark.parametrize(
    ("size", "shown"),
    [(512, "512 B"), (48_200, "48 kB"), (2_400_000, "2.4 MB"), (1_500_000_000, "1,500.0 MB")],
)
def test_file_sizes_in_decimal_units(size, shown):
    assert convs.human_size(size) == l10n.file_size(size) == shown


def test_country_and_language_names():
    assert l10n.region_name("ca") == "Canada" and l10n.region_name("ZZZ") == ""
    assert l10n.language_name("es_MX") == "Spanish (Mexico)"
    assert l10n.language_name("en_US") == "English (United States)"
    assert l10n.language_name("xx_bogus") == "xx_bogus"


@pytest.mark.parametrize(
    ("region", "language"),
    # CLDR's official languages, the first Meta offers templates in (Wolof and Guarani are not)
    [
        ("MX", "es"),
        ("PY", "es"),
        ("SN", "fr"),
        ("BR", "pt"),
        ("JP", "ja"),
        ("US", "en"),
        ("", "en"),
        ("AQ", "en"),
    ],
)
def test_the_picker_s_language_hint_is_the_region_s_language(region, language):
    assert convs.language_hint(region) == language


NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (NOW - dt.timedelta(hours=2), "14:00"),  # today, in Madrid (UTC+1)
        (NOW - dt.timedelta(days=2), "Mon 16:00"),
        (NOW - dt.timedelta(days=40), "23 Jan"),
        (NOW - dt.timedelta(days=400), "28 Jan 2025"),
        (None, ""),
    ],
)
def test_list_times_in_the_account_s_zone(at, shown):
    assert timefmt.format_local(at, "Europe/Madrid", now=NOW) == shown


def test_thread_day_labels_and_stamps():
    today = NOW.date()
    labels = [timefmt.day_label(today - dt.timedelta(days=d), today) for d in (0, 1, 3, 30, 400)]
    assert labels == [
        "Today",
        "Yesterday",
        "Sunday",
        "Monday, 2 February",
        "28 January 2025",
    ]
    madrid = timefmt.zone("Europe/Madrid")
    assert timefmt.full_stamp(NOW, madrid) == "Wed 4 Mar 2026, 16:00"
    assert timefmt.long_date(NOW, madrid) == "4 March 2026"
    assert timefmt.clock(NOW.astimezone(madrid)) == "16:00"
