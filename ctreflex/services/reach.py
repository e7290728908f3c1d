"""Can this contact be reached on this channel now? The one place for the rules that the
WhatsApp sender (services/outbound.py), the SMS sender and the composer's channel switch
(services/sms.py) apply: the account's plan and early access, the 24-hour window, opt-outs
(services/optouts.py, the one consent rule), the US marketing pause, and numbers that cannot
take an SMS (landlines, invalid numbers) or an MMS (outside the US and Canada).

Each check returns None when the contact can be reached, or a Refusal: the sentence shown to
the agent and the field it is about (SendRefused(message, field) in the senders).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import phonenumbers
from sqlmodel import Session

from ctreflex.models import Account, Contact, Conversation, Plan, utc_now
from ctreflex.services import optouts, phones

MMS_REGIONS = frozenset({"US", "CA"})
US_MARKETING_REASON = (
    "Meta does not deliver marketing templates to United States phone numbers (paused since "
    "1 April 2025; WhatsApp answers with error 131049, “not delivered to maintain healthy "
    "ecosystem engagement”). Send a utility template, or wait for the customer to write."
)


@dataclasses.dataclass(frozen=True)
class Refusal:
    message: str
    field: str


def window_open(conv: Conversation, now: dt.datetime | None = None) -> bool:
    """WhatsApp's customer service window: 24 hours from the customer's latest message."""
    now = now or utc_now()
    return conv.window_expires_at is not None and conv.window_expires_at > now


def whatsapp_account(account: Account, plan: Plan) -> Refusal | None:
    """The account may send on WhatsApp at all (plan, early access, payment method)."""
    if not plan.whatsapp_included:
        return Refusal(f"Your plan ({plan.name}) does not include WhatsApp.", "number")
    if not account.early_access:
        return Refusal("WhatsApp is in early access and not enabled for your account.", "number")
    if not account.payment_method_on_file:
        return Refusal(
            "Add a payment method to your WhatsApp Business Account in Meta before sending.",
            "number",
        )
    return None


def whatsapp_window(conv: Conversation, now: dt.datetime | None = None) -> Refusal | None:
    """Free-form WhatsApp (text, media) needs the window open; a template does not."""
    if window_open(conv, now):
        return None
    return Refusal(
        "The 24-hour window is closed: the customer has not written in the last 24 hours. "
        "Only an approved template can reach them now.",
        "window",
    )


def us_marketing(contact: Contact) -> Refusal | None:
    """Meta's pause of marketing templates to US numbers."""
    return Refusal(US_MARKETING_REASON, "template") if phones.is_us(contact.e164) else None


def consent(
    session: Session, contact: Contact, channel: str, *, marketing: bool
) -> Refusal | None:
    """Opt-outs: an SMS STOP, a marketing opt-out on any channel (services/optouts.py)."""
    ok, why = optouts.can_send(
        session=session, contact_id=contact.id, channel=channel, marketing=marketing
    )
    return None if ok else Refusal(why, "optout")


def _parsed(e164: str):
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def sms_recipient(contact: Contact) -> Refusal | None:
    """The contact's number can receive an SMS (a valid number, not a landline)."""
    num = _parsed(contact.e164)
    if num is None or not phonenumbers.is_valid_number(num):
        shown = phones.format_international(contact.e164)
        return Refusal(f"{shown} is not a valid mobile number for SMS.", "to")
    if phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return Refusal(
            f"{phones.format_international(contact.e164)} is a landline: it cannot receive "
            "SMS. Use WhatsApp or call the customer.",
            "to",
        )
    return None


def mms_allowed(contact: Contact) -> bool:
    num = _parsed(contact.e164)
    return num is not None and phonenumbers.region_code_for_number(num) in MMS_REGIONS


def sms(session: Session, contact: Contact, *, marketing: bool = False) -> Refusal | None:
    """Can this contact get an SMS now: a number that takes SMS, and no STOP on record."""
    return sms_recipient(contact) or consent(session, contact, "sms", marketing=marketing)
