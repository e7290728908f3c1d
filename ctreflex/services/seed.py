"""Plans every install needs, and the demo business that `make run` shows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from sqlmodel import Session, select

from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    OptOutEvent,
    Plan,
    UsageRecord,
    User,
    utc_now,
)
from ctreflex.services import phones
from ctreflex.services.auth import hash_password as _hash_password
from ctreflex.services.crypto import encrypt


@functools.cache
def hash_password(password: str) -> str:
    """Demo passwords are hashed once per process (argon2 is slow on purpose)."""
    return _hash_password(password)


PLANS = [
    # code, name, whatsapp, fee (cents), seats, numbers
    ("basic", "Basic", False, 0, 2, 1),
    ("starter", "Starter", True, 2, 3, 2),
    ("standard", "Standard", True, 1, 10, 5),
    ("professional", "Professional", True, 1, 50, 20),
]


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    account: str


DEMO_LOGINS = [
    DemoLogin("admin@demo.test", "demo-admin-1", "admin", "Demo Bakery"),
    DemoLogin("agent@demo.test", "demo-agent-1", "agent", "Demo Bakery"),
    DemoLogin("admin@harbor.test", "harbor-admin-1", "admin", "Harbor Tools"),
    DemoLogin("agent@harbor.test", "harbor-agent-1", "agent", "Harbor Tools"),
    DemoLogin("admin@florist.test", "florist-admin-1", "admin", "Corner Florist"),
    DemoLogin("admin@northwind.test", "northwind-admin-1", "admin", "Northwind Cafe"),
]

FORMER_AGENT_EMAIL = "former@demo.test"

# Simulator identities (see docs/SIMULATOR.md): the simulator seeds the same WABAs and numbers.
DEMO_WABA = "100000000000001"
DEMO_PNID = "200000000000001"
DEMO_TOKEN = "sim-token-demo-bakery"
HARBOR_WABA = "100000000000002"
HARBOR_PNID = "200000000000011"
HARBOR_TOKEN = "sim-token-harbor-tools"
# The SMS simulator (ctreflex/sms_simulator) seeds the same provider account.
DEMO_SMS_NUMBER = "+15550100150"
DEMO_SMS_ACCOUNT_SID = "AC5e0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f"
DEMO_SMS_AUTH_TOKEN = "7c1f3e5a9b2d4f6e8a0c1b3d5f7e9a2c"
SMS_STOPPED_CONTACT = "Carlos Hernández"  # replied STOP by SMS (a ledger row shows it)

# name, number, hours since their last message (None: never wrote), last text
DEMO_CONTACTS = [
    ("Maria Lopez", "+12125550142", 0.3, "Hi! Can I pick up the sourdough at 5 instead of 4?"),
    ("Dev Patel", "+13125550177", 3.5, "Do you have gluten-free brownies today?"),
    ("Oliver Hughes", "+442079460123", 22.6, "Could you deliver the birthday cake on Saturday?"),
    ("Chloé Martin", "+33612345678", 23.2, "Merci ! Le gâteau était parfait."),
    ("Lena Schmidt", "+4915112345678", 9.0, "Is the rye bread vegan?"),
    ("Aiko Tanaka", "+819012345678", 30.0, "Thank you for the macarons!"),
    ("Lucas Silva", "+5511912345678", 47.0, "Vocês fazem entrega?"),
    ("Sofía García", "+34612345678", 1.2, "¿Tenéis pan sin gluten?"),
    ("Priya Sharma", "+919812345678", 72.0, "Please send the catering menu."),
    ("Jack Wilson", "+61412345678", 15.0, "Can I order 3 dozen croissants for Friday?"),
    ("Emma Tremblay", "+14165550123", 23.6, "Is the shop open on Sunday?"),
    ("Carlos Hernández", "+525512345678", 200.0, "Gracias por el pastel."),
]


def ensure_plans(*, session: Session) -> dict[str, Plan]:
    existing = {p.code: p for p in session.exec(select(Plan)).all()}
    for order, (code, name, wa, fee, seats, numbers) in enumerate(PLANS):
        if code not in existing:
            plan = Plan(
                code=code,
                name=name,
                whatsapp_included=wa,
                fee_minor=fee,
                currency="USD",
                seats=seats,
                number_limit=numbers,
                sort_order=order,
            )
            session.add(plan)
            existing[code] = plan
    session.flush()
    return existing


def _user(session: Session, account: Account, login: DemoLogin, name: str) -> None:
    session.add(
        User(
            account_id=account.id,
            email=login.email,
            name=name,
            password_hash=hash_password(login.password),
            role=login.role,
        )
    )


def seed_demo(*, session: Session, now: dt.datetime | None = None) -> bool:
    """Create the demo data when the database holds no account. Returns True if it seeded."""
    plans = ensure_plans(session=session)
    if session.exec(select(Account)).first() is not None:
        session.commit()
        return False
    now = now or utc_now()

    bakery = Account(
        name="Demo Bakery",
        plan_id=plans["professional"].id,
        early_access=True,
        payment_method_on_file=True,
        business_verified=True,
        timezone="America/New_York",
    )
    harbor = Account(
        name="Harbor Tools",
        plan_id=plans["starter"].id,
        early_access=True,
        payment_method_on_file=True,
        business_verified=False,
        timezone="Europe/London",
    )
    florist = Account(
        name="Corner Florist",
        plan_id=plans["basic"].id,
        early_access=True,
        timezone="America/Chicago",
    )
    northwind = Account(
        name="Northwind Cafe",
        plan_id=plans["standard"].id,
        early_access=False,
        payment_method_on_file=True,
        timezone="America/Los_Angeles",
    )
    session.add_all([bakery, harbor, florist, northwind])
    session.flush()

    names = {
        "admin@demo.test": "Ada Baker",
        "agent@demo.test": "Sam Rivers",
        "admin@harbor.test": "Hal Harbor",
        "agent@harbor.test": "Hana Quay",
        "admin@florist.test": "Flora Stem",
        "admin@northwind.test": "Nora West",
    }
    accounts = {a.name: a for a in (bakery, harbor, florist, northwind)}
    for login in DEMO_LOGINS:
        _user(session, accounts[login.account], login, names[login.email])
    session.add(  # a former employee: cannot sign in, shown as deactivated on the Users page
        User(
            account_id=bakery.id,
            email=FORMER_AGENT_EMAIL,
            name="Pat Former",
            password_hash=hash_password("former-agent-1"),
            role="agent",
            active=False,
        )
    )

    wa = BusinessNumber(
        account_id=bakery.id,
        channel="whatsapp",
        e164="+15550100100",
        display_name="Demo Bakery",
        verified_name="Demo Bakery",
        name_status="APPROVED",
        waba_id=DEMO_WABA,
        phone_number_id=DEMO_PNID,
        access_token_encrypted=encrypt(DEMO_TOKEN),
        status="connected",
        code_verification_status="VERIFIED",
        quality_rating="GREEN",
        messaging_limit="TIER_2K",
        throughput_level="STANDARD",
    )
    sms = BusinessNumber(
        account_id=bakery.id,
        channel="sms",
        e164=DEMO_SMS_NUMBER,
        display_name="Demo Bakery SMS",
        status="connected",
        # The REST base URL comes from settings at run time (CTREFLEX_SMS_BASE_URL).
        sms_provider_config={
            "provider": "simulator",
            "account_sid": DEMO_SMS_ACCOUNT_SID,
            "auth_token_encrypted": encrypt(DEMO_SMS_AUTH_TOKEN),
        },
    )
    harbor_wa = BusinessNumber(
        account_id=harbor.id,
        channel="whatsapp",
        e164="+15550100300",
        display_name="Harbor Tools",
        verified_name="Harbor Tools",
        name_status="AVAILABLE_WITHOUT_REVIEW",
        waba_id=HARBOR_WABA,
        phone_number_id=HARBOR_PNID,
        access_token_encrypted=encrypt(HARBOR_TOKEN),
        status="connected",
        code_verification_status="VERIFIED",
        quality_rating="GREEN",
        messaging_limit="TIER_250",
        throughput_level="STANDARD",
    )
    session.add_all([wa, sms, harbor_wa])
    session.flush()

    for index, (name, number, hours_ago, text) in enumerate(DEMO_CONTACTS):
        phone = phones.parse(number)
        contact = Contact(
            account_id=bakery.id,
            e164=phone.e164,
            region=phone.region,
            wa_id=phone.digits,
            profile_name=name,
            name=name,
        )
        session.add(contact)
        session.flush()
        at = now - dt.timedelta(hours=hours_ago)
        conv = Conversation(
            account_id=bakery.id,
            contact_id=contact.id,
            business_number_id=wa.id,
            channel="whatsapp",
            last_message_at=at,
            last_inbound_at=at,
            window_expires_at=at + dt.timedelta(hours=24),
            last_preview=text[:200],
            unread_count=1 if index % 3 == 0 else 0,
        )
        session.add(conv)
        session.flush()
        if index % 2 == 1:
            earlier = at - dt.timedelta(minutes=40)
            session.add(
                Message(
                    account_id=bakery.id,
                    conversation_id=conv.id,
                    business_number_id=wa.id,
                    direction="outbound",
                    channel="whatsapp",
                    kind="text",
                    body=f"Hi {name.split()[0]}, thanks for your order!",
                    provider_message_id=f"wamid.DEMO-OUT-{index:03d}",
                    status="read",
                    created_at=earlier,
                    sent_at=earlier,
                    delivered_at=earlier,
                    read_at=earlier + dt.timedelta(minutes=2),
                )
            )
        session.add(
            Message(
                account_id=bakery.id,
                conversation_id=conv.id,
                business_number_id=wa.id,
                direction="inbound",
                channel="whatsapp",
                kind="text",
                body=text,
                provider_message_id=f"wamid.DEMO-IN-{index:03d}",
                status="received",
                created_at=at,
            )
        )
        if name == SMS_STOPPED_CONTACT:
            _sms_stop(session, contact, conv, sms, now - dt.timedelta(days=12))
    session.commit()
    return True


def seed_usage_history(*, session: Session) -> int:
    """Usage records for the demo messages that have none, then the daily roll-up of their
    days, so the Usage page has figures before any live traffic. Idempotent."""
    from ctreflex.services import usage  # late: usage imports nothing from seed

    rows = session.exec(
        select(Message, Plan)
        .join(Account, Account.id == Message.account_id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(Message.provider_message_id.like("wamid.DEMO-%"))
    ).all()
    existing = set(session.exec(select(UsageRecord.message_id)).all())
    days: set[dt.date] = set()
    added = 0
    for message, plan in rows:
        if message.id in existing:
            continue
        day = message.created_at.astimezone(dt.UTC).date()
        session.add(
            UsageRecord(
                account_id=message.account_id,
                business_number_id=message.business_number_id,
                message_id=message.id,
                channel=message.channel,
                direction=message.direction,
                day=day,
                fee_minor=plan.fee_minor if message.channel == "whatsapp" else 0,
                currency=plan.currency,
            )
        )
        days.add(day)
        added += 1
    session.commit()
    for day in sorted(days):
        usage.roll_up_day(session=session, day=day)
    return added


def _sms_stop(
    session: Session,
    contact: Contact,
    conv: Conversation,
    number: BusinessNumber,
    at: dt.datetime,
) -> None:
    """A customer who replied STOP by SMS: the message, the provider's confirmation, the
    ledger row and the contact's flag (earlier than their last WhatsApp message)."""
    session.add(
        Message(
            account_id=conv.account_id,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction="inbound",
            channel="sms",
            kind="text",
            body="STOP",
            provider_message_id="sms:SMDEMO0000000000000000000000000001",
            status="received",
            created_at=at,
        )
    )
    session.add(
        Message(
            account_id=conv.account_id,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction="outbound",
            channel="sms",
            kind="text",
            body=(
                "You have successfully been unsubscribed. You will not receive any more "
                "messages from this number. Reply START to resubscribe."
            ),
            payload={"auto_reply": "opt_out", "sent_by": "provider"},
            status="sent",
            created_at=at + dt.timedelta(seconds=1),
            sent_at=at + dt.timedelta(seconds=1),
        )
    )
    session.add(
        OptOutEvent(
            contact_id=contact.id,
            channel="sms",
            scope="all",
            action="out",
            source='SMS keyword "STOP"',
            created_at=at,
        )
    )
    contact.sms_opted_out = True
    session.add(contact)
