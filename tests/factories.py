"""Test data factories: accounts (with their users and numbers), contacts, conversations and
messages, each with a name, e-mail and phone number no other test uses, so a test that builds its
own data depends neither on the demo seed nor on what other tests did before it.

Every factory takes the session to write with and commits, so the rows are visible to another
process at once (the served app of the browser tests, a live API server). On the `session`
fixture's database:

    tenant = make_account(session, whatsapp=True)
    conv = make_conversation(session, tenant.account, unread=2, window_hours_left=3)
    make_message(session, conv, direction="outbound", status="read")

On the served app's database (browser tests): `with served_session(served_app) as s: ...`, then
sign in with `login(page, base_url, *tenant.login("admin"))`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import os
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlmodel import Session, select

from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    Plan,
    User,
)

#: The password of every user a factory makes (10+ characters, not a common one, no e-mail name).
PASSWORD = "factory-pw-4821"
# Unique per process and per call: two test sessions writing one database never collide either.
_TAG = uuid.uuid4().hex[:6]
_DIGITS = f"{int(_TAG, 16) % 10**6:06d}"  # the same, for ids that are digits only
_seq = itertools.count(1)
# US area codes the demo seed and the simulator's customers do not use; 555-0100..0199 is the
# fictional range, valid for phonenumbers.
_AREAS = (201, 203, 205, 206, 207, 208, 209, 210, 214, 215, 216, 217, 218, 219, 224, 225, 228)
_phone_seq = itertools.count(int.from_bytes(os.urandom(2)) % (len(_AREAS) * 100))


def unique(prefix: str) -> str:
    """`prefix` with a suffix no other call (in any test session) returns."""
    return f"{prefix} {_TAG}{next(_seq)}"


def unique_phone(country: str = "US") -> str:
    """A number in E.164 that no demo customer and no earlier call has, in a range kept for
    fiction: US +1 NPA 555-01xx, AU +61 491 570 xxx, GB +44 7700 900xxx."""
    n = next(_phone_seq)
    if country == "AU":
        return f"+61491570{n % 1000:03d}"
    if country == "GB":
        return f"+447700900{n % 1000:03d}"
    n %= len(_AREAS) * 100
    return f"+1{_AREAS[n // 100]}55501{n % 100:02d}"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class Tenant:
    """An account of the test's own, its users (by role) and its numbers (by channel)."""

    account: Account
    users: dict[str, User]
    numbers: dict[str, BusinessNumber]
    password: str = PASSWORD

    def login(self, role: str = "admin") -> tuple[str, str]:
        """(e-mail, password) of the account's user with `role`."""
        return self.users[role].email, self.password


def _plan(session: Session, code: str) -> Plan:
    from ctreflex.services.seed import ensure_plans

    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    return plan or ensure_plans(session=session)[code]


def make_user(
    session: Session,
    account: Account,
    *,
    role: str = "agent",
    name: str = "",
    email: str = "",
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    from ctreflex.services.auth import hash_password

    label = name or unique(role.title())
    user = User(
        account_id=account.id,
        email=email or f"{role}.{_TAG}{next(_seq)}@factory.test",
        name=label,
        password_hash=_hash(hash_password, password),
        role=role,
        active=active,
    )
    session.add(user)
    session.commit()
    return user


_hashes: dict[str, str] = {}


def _hash(hasher, password: str) -> str:
    """argon2 is slow on purpose: each distinct password is hashed once per process."""
    if password not in _hashes:
        _hashes[password] = hasher(password)
    return _hashes[password]


def make_number(
    session: Session,
    account: Account,
    *,
    channel: str = "whatsapp",
    e164: str = "",
    status: str = "connected",
    **fields,
) -> BusinessNumber:
    """A business number. WhatsApp numbers get made-up Graph ids: sends from them fail in the
    simulator (only the demo numbers exist there); use the demo account to send for real."""
    e164 = e164 or unique_phone()
    if channel == "whatsapp":
        fields.setdefault("waba_id", f"9{_DIGITS}{next(_seq):08d}")
        fields.setdefault("phone_number_id", f"8{_DIGITS}{next(_seq):08d}")
        fields.setdefault("code_verification_status", "VERIFIED")
        fields.setdefault("quality_rating", "GREEN")
    number = BusinessNumber(
        account_id=account.id,
        channel=channel,
        e164=e164,
        display_name=fields.pop("display_name", account.name),
        status=status,
        **fields,
    )
    session.add(number)
    session.commit()
    return number


def make_account(
    session: Session,
    *,
    name: str = "",
    plan: str = "professional",
    roles: tuple[str, ...] = ("admin", "agent"),
    whatsapp: bool = True,
    sms: bool = False,
    early_access: bool = True,
    timezone: str = "UTC",
    **fields,
) -> Tenant:
    """An account with one user per role (e-mails unique, password PASSWORD) and, if asked, a
    connected WhatsApp and/or SMS number."""
    fields.setdefault("payment_method_on_file", True)
    fields.setdefault("business_verified", True)
    account = Account(
        name=name or unique("Factory Shop"),
        plan_id=_plan(session, plan).id,
        early_access=early_access,
        timezone=timezone,
        **fields,
    )
    session.add(account)
    session.commit()
    users = {role: make_user(session, account, role=role) for role in roles}
    numbers = {}
    if whatsapp:
        numbers["whatsapp"] = make_number(session, account, channel="whatsapp")
    if sms:
        numbers["sms"] = make_number(session, account, channel="sms")
    return Tenant(account=account, users=users, numbers=numbers)


def demo_account(session: Session, name: str = "Demo Bakery") -> Account:
    """A seeded account (the demo seed must have run), to add one's own customers to."""
    return session.exec(select(Account).where(Account.name == name)).one()


def make_contact(
    session: Session,
    account: Account | int,
    *,
    name: str = "",
    e164: str = "",
    profile_name: str | None = None,
    **fields,
) -> Contact:
    """A customer with a unique name and number (its WhatsApp id is the number's digits)."""
    from ctreflex.services import phones

    account_id = account if isinstance(account, int) else account.id
    phone = phones.parse(e164 or unique_phone())
    name = name or unique("Customer")
    fields.setdefault("wa_id", phone.digits)
    contact = Contact(
        account_id=account_id,
        e164=phone.e164,
        region=phone.region,
        name=name,
        profile_name=name if profile_name is None else profile_name,
        **fields,
    )
    session.add(contact)
    session.commit()
    return contact


def make_conversation(
    session: Session,
    account: Account | int,
    contact: Contact | None = None,
    *,
    channel: str = "whatsapp",
    window_hours_left: float | None = 20.0,
    unread: int = 0,
    inbound: tuple[str, ...] = ("Hello, are you open?",),
    **contact_fields,
) -> Conversation:
    """A conversation with a customer (made with `contact_fields` unless given) on the account's
    number of `channel`, its customer's messages `inbound` stored, oldest first, the last one
    `24 - window_hours_left` hours ago (None, or no `inbound`: the customer never wrote, no
    window); `unread` of them unread. Add messages with `make_message`."""
    account_id = account if isinstance(account, int) else account.id
    contact = contact or make_contact(session, account_id, **contact_fields)
    number = session.exec(
        select(BusinessNumber)
        .where(BusinessNumber.account_id == account_id, BusinessNumber.channel == channel)
        .order_by(BusinessNumber.id)
    ).first()
    texts = inbound if window_hours_left is not None else ()
    last_in = now() - dt.timedelta(hours=24 - window_hours_left) if texts else None
    conv = Conversation(
        account_id=account_id,
        contact_id=contact.id,
        business_number_id=number.id if number else None,
        channel=channel,
        last_message_at=last_in,
        last_inbound_at=last_in,
        window_expires_at=last_in + dt.timedelta(hours=24) if last_in else None,
        last_preview=texts[-1][:200] if texts else "",
        unread_count=min(unread, len(texts)) if texts else 0,
    )
    session.add(conv)
    session.commit()
    for i, text in enumerate(texts):
        at = last_in - dt.timedelta(minutes=len(texts) - 1 - i)
        make_message(session, conv, body=text, at=at, touch=False)
    return conv


def make_message(
    session: Session,
    conversation: Conversation,
    *,
    direction: str = "inbound",
    body: str = "",
    status: str = "",
    at: dt.datetime | None = None,
    touch: bool = True,
    **fields,
) -> Message:
    """A text message in the conversation (inbound: received; outbound: `status`, default sent,
    with the timestamps that status implies). `touch` moves the conversation's preview and
    times to it, as the services do."""
    at = at or now()
    inbound = direction == "inbound"
    status = status or ("received" if inbound else "sent")
    stamps = {}
    if not inbound:
        order = ("sent", "delivered", "read")
        reached = order.index(status) if status in order else -1
        for i, field in enumerate(("sent_at", "delivered_at", "read_at")):
            if i <= reached:
                stamps[field] = at
    message = Message(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        business_number_id=conversation.business_number_id,
        direction=direction,
        channel=conversation.channel,
        kind=fields.pop("kind", "text"),
        body=body or unique("Message"),
        provider_message_id=fields.pop("provider_message_id", f"wamid.FACTORY-{_TAG}-{next(_seq)}"),
        status=status,
        created_at=at,
        **stamps,
        **fields,
    )
    session.add(message)
    if touch:
        conversation.last_message_at = at
        conversation.last_preview = message.body[:200]
        if inbound:
            conversation.last_inbound_at = at
            conversation.window_expires_at = at + dt.timedelta(hours=24)
            conversation.unread_count += 1
        session.add(conversation)
    session.commit()
    return message


@contextlib.contextmanager
def served_session(served_app) -> Iterator[Session]:
    """A session on the database of the served app (browser tests), for the factories."""
    engine = create_engine(served_app.env["CTREFLEX_DATABASE_URL"])
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()
