"""The contact panel's edit (issue 14): the contact's name and phone number, validated (E.164
with phonenumbers), never two contacts of one account on one number."""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation
from ctreflex.services import phones
from ctreflex.services.new_conversation import InvalidRecipient, clean_name, parse_number


@dataclasses.dataclass(frozen=True)
class ContactCard:
    """What the panel shows and edits."""

    id: int = 0
    name: str = ""  # the name the business gave ("" when none)
    profile_name: str = ""  # WhatsApp's
    number: str = ""  # +1 212-555-0142
    e164: str = ""
    region: str = ""
    country: str = ""
    wa_id: str = ""


def _contact_of(session: Session, account_id: int, conversation_id: int) -> Contact | None:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        return None
    return session.get(Contact, conv.contact_id)


def _card(c: Contact) -> ContactCard:
    phone = phones.parse(c.e164) if c.e164 else None
    return ContactCard(
        id=c.id,
        name=c.name,
        profile_name=c.profile_name,
        number=phone.pretty if phone else "",
        e164=c.e164,
        region=phone.region if phone else "",
        country=phone.country if phone else "",
        wa_id=c.wa_id or "",
    )


def card(*, session: Session, account_id: int, conversation_id: int) -> ContactCard | None:
    contact = _contact_of(session, account_id, conversation_id)
    return _card(contact) if contact is not None else None


def _owner_name(c: Contact) -> str:
    return c.name or c.profile_name or "another contact"


def save(
    *,
    session: Session,
    account_id: int,
    conversation_id: int,
    name: str,
    number: str,
    region: str = "",
) -> ContactCard:
    """Rename the conversation's contact and/or change its number. Raises InvalidRecipient
    (field "name" or "number") for bad input or a number another contact already has."""
    contact = _contact_of(session, account_id, conversation_id)
    if contact is None:
        raise InvalidRecipient("This conversation does not exist in your account.", "contact")
    clean = clean_name(name)
    phone = parse_number(number, region or contact.region)
    if phone.e164 != contact.e164:
        other = session.exec(
            select(Contact).where(
                Contact.account_id == account_id,
                Contact.e164 == phone.e164,
                Contact.id != contact.id,
            )
        ).first()
        if other is not None:
            raise InvalidRecipient(
                f"{phone.pretty} is already the number of {_owner_name(other)}. One number "
                "belongs to one contact: open that contact's conversation instead.",
                "number",
            )
        contact.e164, contact.region, contact.wa_id = phone.e164, phone.region, phone.digits
    contact.name = clean
    session.add(contact)
    try:
        session.commit()
    except IntegrityError:  # another tab took the number meanwhile
        session.rollback()
        raise InvalidRecipient(
            f"{phone.pretty} is already the number of another contact.", "number"
        ) from None
    session.refresh(contact)
    return _card(contact)
