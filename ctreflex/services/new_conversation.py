"""Starting a conversation with a customer (issue 14): find a contact or take a typed number
(E.164, validated with phonenumbers), what the sending number's messaging limit allows, every
refusal known before Send, and the send of the opening template.

A new number gets its contact and conversation only when its template is sent
(:func:`start_with_template`); until then every check runs on a throwaway contact and
conversation inside a transaction that is rolled back (:func:`_recipient_conversation`), so the
picker asks exactly the functions the send path asks (``outbound._target``,
``template_send.validate_send``, ``number_limits.limit_refusal``) and no rule is written twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import phonenumbers
from phonenumbers import geocoder
from sqlmodel import Session, col, or_, select

from ctreflex import db
from ctreflex.models import BusinessNumber, Contact, Conversation, Message
from ctreflex.models.contact import fold_for_search
from ctreflex.services import (
    l10n,
    number_limits,
    outbound,
    phones,
    template_send,
    templates,
)
from ctreflex.services.outbound import SendRefused
from ctreflex.whatsapp.templates import FieldError

NAME_MAX = 120
#: The checks that belong to the template or the recipient, not to the form's values.
REACH_FIELDS = ("template", "number", "conversation")


class InvalidRecipient(ValueError):
    """A number or name the agent typed cannot be used; the message is safe to show."""

    def __init__(self, message: str, field: str = "number"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True)
class ContactPick:
    """A search hit in "New conversation"."""

    id: int
    name: str
    number: str  # +1 212-555-0142
    country: str
    conversation_id: int  # 0: no conversation yet


@dataclasses.dataclass(frozen=True)
class Recipient:
    """Who the opening template goes to: a known contact, or a new number."""

    contact_id: int  # 0: a number no contact has yet
    conversation_id: int  # 0: no conversation yet
    e164: str
    number: str  # pretty, international
    country: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.number})" if self.name else self.number


@dataclasses.dataclass(frozen=True)
class Outlook:
    """The sending number and its messaging limit, as seen for one recipient."""

    number: str  # the WhatsApp number the template goes from ("" when none)
    limit_text: str  # "187 of 250 in the last 24 h"
    level: str  # "" | ok | warn | full
    refusal: str  # why no template can go to this recipient now ("" when one can)


# ----------------------------------------------------------------------------- finding


def _pick(contact: Contact, conversation_id: int) -> ContactPick:
    name = contact.name or contact.profile_name or phones.format_international(contact.e164)
    country = phones.parse(contact.e164).country if contact.e164 else ""
    return ContactPick(
        id=contact.id,
        name=name,
        number=phones.format_international(contact.e164),
        country=country,
        conversation_id=conversation_id,
    )


def find_contacts(
    *, session: Session, account_id: int, query: str, limit: int = 8
) -> list[ContactPick]:
    """The account's contacts whose name (accents and case ignored) or number matches."""
    q = " ".join((query or "").split())
    if not q:
        return []
    clauses = [Contact.search_key.contains(fold_for_search(q), autoescape=True)]
    digits = "".join(c for c in q if c.isdigit())
    if digits and not any(c.isalpha() for c in q) and len(digits) >= 2:
        clauses.append(Contact.e164.contains(digits, autoescape=True))
    rows = session.exec(
        select(Contact)
        .where(Contact.account_id == account_id, or_(*clauses))
        .order_by(Contact.name, Contact.id)
        .limit(limit)
    ).all()
    convs = dict(
        session.exec(
            select(Conversation.contact_id, Conversation.id).where(
                Conversation.account_id == account_id,
                col(Conversation.contact_id).in_([c.id for c in rows] or [0]),
            )
        ).all()
    )
    return [_pick(c, convs.get(c.id, 0)) for c in rows]


def clean_name(name: str | None) -> str:
    clean = " ".join((name or "").split())
    if len(clean) > NAME_MAX:
        raise InvalidRecipient(f"A name can be at most {NAME_MAX} characters.", "name")
    return clean


def region_name(region: str) -> str:
    """Canada for CA ("" when unknown)."""
    return l10n.region_name(region) if region else ""


def countries() -> list[tuple[str, str]]:
    """(region, "Canada (+1)") for every country phonenumbers knows, by name."""
    rows = [
        (r, f"{region_name(r) or r} (+{phonenumbers.country_code_for_region(r)})")
        for r in phonenumbers.SUPPORTED_REGIONS
    ]
    return sorted(rows, key=lambda row: row[1])


def parse_number(raw: str, region: str = "") -> phones.Phone:
    """A number typed with its country (a +code, or the country chosen beside it), valid for
    that country (phonenumbers' numbering plans), as E.164."""
    text = (raw or "").strip()
    if not text:
        raise InvalidRecipient("Enter the customer's phone number.")
    if any(c.isalpha() for c in text):
        raise InvalidRecipient(f"“{text}” is not a phone number: use digits only.")
    if not text.startswith("+") and not region:
        raise InvalidRecipient("Choose the number's country, or start it with + and its code.")
    default = None if text.startswith("+") else region.upper()
    try:
        num = phonenumbers.parse(text, default)
    except phonenumbers.NumberParseException:
        raise InvalidRecipient(f"“{text}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(num):
        where = phonenumbers.region_code_for_number(num) or default or ""
        country = geocoder.country_name_for_number(num, "en") or region_name(where)
        place = f" in {country}" if country else ""
        raise InvalidRecipient(
            f"“{text}” is not a valid phone number{place}. Check the digits and the country."
        )
    return phones.parse(phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164))


def _existing(session: Session, account_id: int, e164: str) -> Contact | None:
    return session.exec(
        select(Contact).where(Contact.account_id == account_id, Contact.e164 == e164)
    ).first()


def _conversation_id(session: Session, account_id: int, contact_id: int) -> int:
    return (
        session.exec(
            select(Conversation.id).where(
                Conversation.account_id == account_id, Conversation.contact_id == contact_id
            )
        ).first()
        or 0
    )


def recipient_for_contact(*, session: Session, account_id: int, contact_id: int) -> Recipient:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        raise InvalidRecipient("This contact does not exist in your account.", "contact")
    pick = _pick(contact, 0)
    return Recipient(
        contact_id=contact.id,
        conversation_id=_conversation_id(session, account_id, contact.id),
        e164=contact.e164,
        number=pick.number,
        country=pick.country,
        name=contact.name or contact.profile_name,
    )


def recipient_for_conversation(
    *, session: Session, account_id: int, conversation_id: int
) -> Recipient | None:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        return None
    return recipient_for_contact(session=session, account_id=account_id, contact_id=conv.contact_id)


def recipient_for_number(
    *, session: Session, account_id: int, raw: str, region: str = "", name: str = ""
) -> Recipient:
    """The typed number as a recipient; a number a contact already has is that contact."""
    phone = parse_number(raw, region)
    clean = clean_name(name)
    contact = _existing(session, account_id, phone.e164)
    if contact is not None:
        return recipient_for_contact(session=session, account_id=account_id, contact_id=contact.id)
    return Recipient(
        contact_id=0,
        conversation_id=0,
        e164=phone.e164,
        number=phone.pretty,
        country=phone.country,
        name=clean,
    )


# ----------------------------------------------------------------------------- the checks


@contextlib.contextmanager
def _recipient_conversation(account_id: int, to: Recipient) -> Iterator[tuple[Session, int]]:
    """A session and the recipient's conversation id. A new number (or a contact without a
    conversation) gets throwaway rows; the transaction is always rolled back, so nothing of
    the checks stays."""
    with Session(db.get_engine(), expire_on_commit=False) as session:
        if to.conversation_id:  # an existing conversation: nothing to make up
            try:
                yield session, to.conversation_id
            finally:
                session.rollback()
            return
        try:
            contact_id = to.contact_id
            if not contact_id:
                phone = phones.parse(to.e164)
                contact = Contact(
                    account_id=account_id,
                    e164=phone.e164,
                    region=phone.region,
                    wa_id=phone.digits,
                    name=to.name,
                )
                session.add(contact)
                session.flush()
                contact_id = contact.id
            conversation_id = _conversation_id(session, account_id, contact_id)
            if not conversation_id:
                conv = Conversation(account_id=account_id, contact_id=contact_id)
                session.add(conv)
                session.flush()
                conversation_id = conv.id
            yield session, conversation_id
        finally:
            session.rollback()


def _refusal(session: Session, account_id: int, conversation_id: int, template_id: int) -> str:
    """Every reason known before Send why this template can't go to this conversation's
    customer now ("" when it may go): the plan, early access and the connected number
    (outbound's own target check), the template's status and category, marketing to a US
    number, a marketing opt-out and the messaging limit (template_send.validate_send). The one
    place the picker asks; switch it to services/reach.py when that lands."""
    try:
        outbound._target(session, account_id, conversation_id)
    except SendRefused as exc:
        return exc.message
    errors = template_send.validate_send(
        session=session,
        account_id=account_id,
        conversation_id=conversation_id,
        template_id=template_id,
        values={},
    )
    reasons = [e.message for e in errors if e.field in REACH_FIELDS]
    return " ".join(dict.fromkeys(reasons))


def refusals(*, account_id: int, to: Recipient, template_ids: list[int]) -> dict[int, str]:
    """The templates (by id) that would be refused for this recipient, with the reason."""
    out: dict[int, str] = {}
    with _recipient_conversation(account_id, to) as (session, conversation_id):
        for template_id in template_ids:
            reason = _refusal(session, account_id, conversation_id, template_id)
            if reason:
                out[template_id] = reason
    return out


def outlook(*, account_id: int, to: Recipient) -> Outlook:
    """The number the template goes from, its "N of 250 in the last 24 h", warn (80 %) or
    full, and why nothing can go (the plan, the number, the limit for a new customer)."""
    with _recipient_conversation(account_id, to) as (session, conversation_id):
        try:
            t = outbound._target(session, account_id, conversation_id)
        except SendRefused as exc:
            return Outlook(number="", limit_text="", level="", refusal=exc.message)
        use = number_limits.limit_use(session=session, number_id=t.number.id)
        refusal = number_limits.limit_refusal(
            session=session, number_id=t.number.id, conversation_id=conversation_id
        )
        level = "full" if use.full else "warn" if use.warn else "ok"
        label = t.number.display_name or t.number.verified_name
        pretty = phones.format_international(t.number.e164)
        return Outlook(
            number=f"{label} ({pretty})" if label else pretty,
            limit_text=use.text,
            level=level,
            refusal=refusal,
        )


def validate(
    *,
    account_id: int,
    to: Recipient,
    template_id: int,
    values: Mapping[str, Any],
    header_media_file_id: int | None = None,
) -> list:
    """template_send.validate_send for this recipient (a new number included)."""
    with _recipient_conversation(account_id, to) as (session, conversation_id):
        try:
            outbound._target(session, account_id, conversation_id)
        except SendRefused as exc:
            return [FieldError(exc.field or "number", exc.message)]
        return template_send.validate_send(
            session=session,
            account_id=account_id,
            conversation_id=conversation_id,
            template_id=template_id,
            values=values,
            header_media_file_id=header_media_file_id,
        )


# ----------------------------------------------------------------------------- sending


def _create(account_id: int, to: Recipient) -> tuple[int, bool]:
    """The recipient's conversation id, with its contact and conversation created if new;
    (id, created) -- created says what to remove if the send is refused after all."""
    with db.session_scope() as session:
        contact = _existing(session, account_id, to.e164)
        created = contact is None
        if created:
            phone = phones.parse(to.e164)
            contact = Contact(
                account_id=account_id,
                e164=phone.e164,
                region=phone.region,
                wa_id=phone.digits,
                name=to.name,
            )
            session.add(contact)
            session.flush()
        conversation_id = _conversation_id(session, account_id, contact.id)
        if not conversation_id:
            conv = Conversation(account_id=account_id, contact_id=contact.id, channel="whatsapp")
            session.add(conv)
            session.flush()
            conversation_id = conv.id
            created = True
        return conversation_id, created


def _remove_if_empty(account_id: int, conversation_id: int) -> None:
    """Undo :func:`_create` when the template was refused: no empty conversation stays."""
    with db.session_scope() as session:
        conv = session.get(Conversation, conversation_id)
        if conv is None or conv.account_id != account_id:
            return
        if session.exec(select(Message.id).where(Message.conversation_id == conv.id)).first():
            return
        contact = session.get(Contact, conv.contact_id)
        session.delete(conv)
        session.flush()
        others = session.exec(
            select(Conversation.id).where(Conversation.contact_id == conv.contact_id)
        ).first()
        if contact is not None and others is None and not contact.profile_name:
            session.delete(contact)


async def start_with_template(
    *,
    account_id: int,
    user_id: int,
    to: Recipient,
    template_id: int,
    values: dict[str, str],
    header_media_file_id: int | None = None,
) -> int:
    """Send the opening template to `to`; the conversation's id. The checks run first (nothing
    is created when one fails: :class:`SendRefused`), then the contact and the conversation
    are created and template_send.send_template sends (and checks again)."""
    errors = validate(
        account_id=account_id,
        to=to,
        template_id=template_id,
        values=values,
        header_media_file_id=header_media_file_id,
    )
    if errors:
        raise SendRefused(errors[0].message, errors[0].field)
    conversation_id, created = _create(account_id, to)
    try:
        await template_send.send_template(
            account_id=account_id,
            user_id=user_id,
            conversation_id=conversation_id,
            template_id=template_id,
            values=values,
            header_media_file_id=header_media_file_id,
        )
    except SendRefused:
        if created:
            _remove_if_empty(account_id, conversation_id)
        raise
    return conversation_id


# ----------------------------------------------------------------------------- what it shows


def default_region(*, session: Session, account_id: int) -> str:
    """The country a typed number without + is read in: the account's WhatsApp number's."""
    number = session.exec(
        select(BusinessNumber).where(
            BusinessNumber.account_id == account_id, BusinessNumber.channel == "whatsapp"
        )
    ).first()
    region = phonenumbers.region_code_for_number(phonenumbers.parse(number.e164)) if number else ""
    return region if region and region != "001" else "US"


def cost_line(*, session: Session, account_id: int, to: Recipient) -> str:
    """What opening the conversation costs, before a template is chosen (the picker then shows
    the chosen template's own line)."""
    view = templates.cost(
        session=session,
        account_id=account_id,
        conversation_id=to.conversation_id,
        template_id=None,
    )
    where = f" for {to.country}" if to.country else ""
    return (
        f"Each template is billed by Meta at its category's rate{where} (marketing or "
        f"utility) plus {view.platform_fee} platform fee per message."
    )
