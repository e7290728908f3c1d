"""Phone numbers: E.164 validation, country and region with phonenumbers."""

from __future__ import annotations

import dataclasses

import phonenumbers
from phonenumbers import geocoder


class InvalidPhoneNumber(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Phone:
    e164: str  # +15550100142
    region: str  # US, CA, GB … ("" when unknown)
    country: str  # United States
    digits: str  # 15550100142, the WhatsApp id form

    @property
    def pretty(self) -> str:
        return format_international(self.e164)


def parse(raw: str, default_region: str | None = None) -> Phone:
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("Enter a phone number.")
    if not text.startswith("+") and text.isdigit() and default_region is None:
        text = "+" + text  # WhatsApp ids are digits with the country code
    try:
        num = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number: {exc._msg}") from exc
    if not phonenumbers.is_possible_number(num):
        raise InvalidPhoneNumber(f"{raw!r} does not have the right length for its country.")
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(num) or ""
    country = geocoder.country_name_for_number(num, "en") or region
    return Phone(e164=e164, region=region, country=country, digits=e164.lstrip("+"))


def format_international(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def is_us(e164: str) -> bool:
    """Meta's marketing block applies to United States numbers, not to every +1 number."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) == "US"
    except phonenumbers.NumberParseException:
        return False
