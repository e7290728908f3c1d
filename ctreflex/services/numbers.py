"""Connecting WhatsApp numbers: the gate (plan, early access, number cap), the four Graph steps
(list the WABA's numbers, request a code, verify it, register with a PIN), enabling and
disabling. Every Graph error comes back as a `NumberError` in plain words with a way forward.

Access tokens are encrypted (services.crypto) before they are stored or kept between wizard
steps, and are never returned.
"""

from __future__ import annotations

import dataclasses
import re

from sqlmodel import Session, col, select

from ctreflex import db
from ctreflex.models import Account, BusinessNumber, Plan, utc_now
from ctreflex.services import graph, phones
from ctreflex.services.crypto import decrypt, encrypt
from ctreflex.services.errors import UserFacingError
from ctreflex.whatsapp import GraphAPIError, GraphError
from ctreflex.whatsapp.errors import GraphTransportError

UNVERIFIED_CAP = 2
VERIFIED_CAP = 20

_DIGITS = re.compile(r"^\d{6}$")
_WABA = re.compile(r"^\d{5,25}$")


class NumberError(UserFacingError):
    """A refusal or a Graph error, in words an admin understands, with what to do next
    (``message`` is ``plain_words``)."""

    def __init__(self, title: str, plain_words: str, what_to_do: str = "", code: int | None = None):
        super().__init__(plain_words)
        self.args = (f"{title}: {plain_words}",)  # str(exc) as before, for logs
        self.title = title
        self.plain_words = plain_words
        self.what_to_do = what_to_do
        self.code = code


# ------------------------------------------------------------------------------------ the gate


@dataclasses.dataclass(frozen=True)
class Gate:
    """Whether this account may use WhatsApp at all, and how many numbers it may connect."""

    allowed: bool
    reason: str
    cap: int
    used: int
    verified: bool
    payment_method: bool

    @property
    def full(self) -> bool:
        return self.used >= self.cap


def _account_plan(session: Session, account_id: int) -> tuple[Account, Plan]:
    account = session.get(Account, account_id)
    if account is None:
        raise NumberError("No such account", "This account does not exist.")
    return account, session.get(Plan, account.plan_id)


def whatsapp_refusal(account: Account, plan: Plan) -> str:
    """Why this account cannot use WhatsApp ("" when it can)."""
    if not plan.whatsapp_included:
        return (
            f"Your plan ({plan.name}) does not include WhatsApp. WhatsApp comes with the "
            "Starter, Standard and Professional plans."
        )
    if not account.early_access:
        return (
            "WhatsApp is in early access and has not been enabled for your account yet. "
            "Ask CT Text support to join the beta."
        )
    return ""


def active_whatsapp_count(session: Session, account_id: int) -> int:
    return len(
        session.exec(
            select(BusinessNumber.id).where(
                BusinessNumber.account_id == account_id,
                BusinessNumber.channel == "whatsapp",
                BusinessNumber.status != "disabled",
            )
        ).all()
    )


def gate(*, session: Session, account_id: int) -> Gate:
    account, plan = _account_plan(session, account_id)
    verified_cap = VERIFIED_CAP if account.business_verified else UNVERIFIED_CAP
    return Gate(
        allowed=not whatsapp_refusal(account, plan),
        reason=whatsapp_refusal(account, plan),
        cap=min(verified_cap, max(plan.number_limit, 0)) if plan.whatsapp_included else 0,
        used=active_whatsapp_count(session, account_id),
        verified=account.business_verified,
        payment_method=account.payment_method_on_file,
    )


def cap_refusal(account: Account, plan: Plan, used: int) -> str:
    verified_cap = VERIFIED_CAP if account.business_verified else UNVERIFIED_CAP
    cap = min(verified_cap, plan.number_limit)
    if used < cap:
        return ""
    if cap == verified_cap and not account.business_verified:
        return (
            f"Your account already has {used} WhatsApp numbers, the most Meta allows for a "
            f"business that is not verified ({UNVERIFIED_CAP}). Verify your business with Meta "
            f"to connect up to {VERIFIED_CAP}, or disable a number you no longer use."
        )
    if cap == verified_cap:
        return (
            f"Your account already has {used} WhatsApp numbers, the most Meta allows "
            f"({VERIFIED_CAP}). Disable a number you no longer use first."
        )
    return (
        f"Your plan ({plan.name}) allows {plan.number_limit} WhatsApp number(s) and your account "
        f"already has {used}. Change to a bigger plan, or disable a number you no longer use."
    )


def require_can_connect(*, session: Session, account_id: int, phone_number_id: str | None = None):
    """Raise NumberError unless this account may connect one more WhatsApp number (a number it
    already has, e.g. re-connecting a pending or disabled one, does not count twice)."""
    account, plan = _account_plan(session, account_id)
    reason = whatsapp_refusal(account, plan)
    if reason:
        raise NumberError("WhatsApp is not available", reason)
    if phone_number_id:
        existing = session.exec(
            select(BusinessNumber).where(BusinessNumber.phone_number_id == phone_number_id)
        ).first()
        if existing is not None and existing.account_id != account_id:
            raise NumberError(
                "Number connected elsewhere",
                "This number is already connected to another CT Text account.",
                "Disable it there first, or pick another number.",
            )
        if existing is not None and existing.status != "disabled":
            return
    reason = cap_refusal(account, plan, active_whatsapp_count(session, account_id))
    if reason:
        raise NumberError("Number limit reached", reason)


# --------------------------------------------------------------------------- prerequisites


@dataclasses.dataclass(frozen=True)
class Prerequisite:
    key: str
    title: str
    detail: str
    state: str  # "done", "missing", "recommended", "info"


def prerequisites(*, session: Session, account_id: int) -> list[Prerequisite]:
    account, _plan = _account_plan(session, account_id)
    return [
        Prerequisite(
            "portfolio",
            "Meta business portfolio",
            "A WhatsApp Business Account (WABA) is created inside a Meta business portfolio.",
            "info",
        ),
        Prerequisite(
            "admin",
            "Admin access to the portfolio",
            "Sign in to Meta Business Suite with admin rights to create the access token "
            "(permissions whatsapp_business_management and whatsapp_business_messaging).",
            "info",
        ),
        Prerequisite(
            "payment",
            "Payment method on the WhatsApp account",
            "A payment method on file with Meta" + " (found)."
            if account.payment_method_on_file
            else "No payment method yet: add one in Meta's WhatsApp Manager. Numbers can be "
            "connected, but sending stays disabled until there is one. Meta invoices template "
            "messages directly.",
            "done" if account.payment_method_on_file else "missing",
        ),
        Prerequisite(
            "verification",
            "Business verification (recommended)",
            (
                "Verified: the approved display name is shown to customers, up to 20 numbers, "
                "and up to 1,000 business-initiated messages per 24 hours."
                if account.business_verified
                else "Not verified. Verifying with Meta shows your approved display name to "
                "customers, allows up to 20 numbers (2 without), and up to 1,000 "
                "business-initiated messages per 24 hours (250 without)."
            ),
            "done" if account.business_verified else "recommended",
        ),
        Prerequisite(
            "code",
            "A number that can receive a code",
            "Any provider's number works (mobile, landline, toll-free) if it can receive Meta's "
            "6-digit verification code by SMS or voice call.",
            "info",
        ),
    ]


# -------------------------------------------------------------------------- Graph, in words


def _plain(exc: GraphError, step: str, waba_id: str = "") -> NumberError:
    if isinstance(exc, GraphTransportError):
        return NumberError(
            "Could not reach WhatsApp",
            "Meta's Graph API did not answer.",
            "Check the connection and try again in a minute.",
        )
    assert isinstance(exc, GraphAPIError)
    help_ = exc.help
    plain, todo = help_.plain_words, help_.what_to_do
    if exc.code == 100 and step == "list":
        plain = (
            f"Meta cannot find the WhatsApp Business Account {waba_id} for this access token: "
            "the id is wrong, or the token was issued for another business."
        )
        todo = (
            "Copy the WhatsApp Business Account id from WhatsApp Manager (Account tools, "
            "Phone numbers) and use a token of that business."
        )
    elif exc.code in (0, 190):
        plain = "Meta refused the access token: it is wrong, expired or was revoked."
        todo = (
            "Create a new token for a system user with the whatsapp_business_management and "
            "whatsapp_business_messaging permissions, and paste it again."
        )
    details = exc.details or ""
    if details and details.lower() not in plain.lower():
        plain = f"{plain} Meta says: {details}"
    return NumberError(help_.title, plain, todo, exc.code)


@dataclasses.dataclass(frozen=True)
class WabaNumber:
    """A number of the WABA, as the wizard's picker shows it."""

    phone_number_id: str
    display: str
    verified_name: str
    name_status: str
    code_verification_status: str
    status: str
    quality: str
    connected_here: bool
    label: str


def _validate_waba(waba_id: str, token: str) -> tuple[str, str]:
    waba_id, token = (waba_id or "").strip(), (token or "").strip()
    if not _WABA.match(waba_id):
        raise NumberError(
            "Check the WhatsApp Business Account id",
            "The WhatsApp Business Account id is a long number, e.g. 100000000000001.",
            "Copy it from Meta's WhatsApp Manager.",
        )
    if len(token) < 8 or len(token) > 1024 or any(ch.isspace() for ch in token):
        raise NumberError(
            "Check the access token",
            "Paste the whole access token from Meta Business Suite (no spaces).",
        )
    return waba_id, token


async def list_waba_numbers(*, account_id: int, waba_id: str, token: str) -> list[WabaNumber]:
    """Step 1: check the WABA and the token, and list the WABA's numbers."""
    waba_id, token = _validate_waba(waba_id, token)
    with db.session_scope() as session:
        require_can_connect(session=session, account_id=account_id)
        mine = {
            pnid
            for pnid, status in session.exec(
                select(BusinessNumber.phone_number_id, BusinessNumber.status).where(
                    BusinessNumber.account_id == account_id
                )
            ).all()
            if status == "connected"
        }
    try:
        rows = await graph.client_for_token(token).list_phone_numbers(waba_id)
    except GraphError as exc:
        raise _plain(exc, "list", waba_id) from exc
    out = []
    for r in rows:
        display = r.display_phone_number or r.id
        connected = r.id in mine
        label = f"{display} · {r.verified_name or 'no display name'}"
        if connected:
            label += " (already connected)"
        out.append(
            WabaNumber(
                phone_number_id=r.id,
                display=display,
                verified_name=r.verified_name or "",
                name_status=r.name_status or "",
                code_verification_status=r.code_verification_status or "",
                status=r.status or "",
                quality=r.quality_rating or "",
                connected_here=connected,
                label=label,
            )
        )
    if not out:
        raise NumberError(
            "No numbers in this account",
            f"The WhatsApp Business Account {waba_id} has no phone numbers yet.",
            "Add the number in Meta's WhatsApp Manager first, then come back.",
        )
    return out


async def request_code(
    *, account_id: int, token: str, phone_number_id: str, method: str, language: str = "en_US"
) -> None:
    """Step 2: Meta sends a 6-digit code to the number by SMS or voice call."""
    method = (method or "SMS").upper()
    if method not in ("SMS", "VOICE"):
        raise NumberError("Pick SMS or voice call", "The code comes by SMS or by a voice call.")
    with db.session_scope() as session:
        require_can_connect(session=session, account_id=account_id, phone_number_id=phone_number_id)
    try:
        await graph.client_for_token(token).request_code(phone_number_id, method, language)
    except GraphError as exc:
        raise _plain(exc, "request_code") from exc


async def verify_code(*, account_id: int, token: str, phone_number_id: str, code: str) -> None:
    """Step 3: the code the number received."""
    code = re.sub(r"[\s-]", "", code or "")
    if not _DIGITS.match(code):
        raise NumberError("Check the code", "The verification code has 6 digits.")
    with db.session_scope() as session:
        require_can_connect(session=session, account_id=account_id, phone_number_id=phone_number_id)
    try:
        await graph.client_for_token(token).verify_code(phone_number_id, code)
    except GraphError as exc:
        raise _plain(exc, "verify_code") from exc


async def register_and_enable(
    *, account_id: int, waba_id: str, token: str, phone_number_id: str, pin: str
) -> int:
    """Step 4: register the number for the Cloud API with its two-step PIN, read its details
    back, and store it (token encrypted) as a connected WhatsApp number. Returns its id."""
    pin = (pin or "").strip()
    if not _DIGITS.match(pin):
        raise NumberError(
            "Check the PIN",
            "The two-step verification PIN has 6 digits.",
            "If the number has no PIN yet, the one you enter becomes its PIN.",
        )
    with db.session_scope() as session:
        require_can_connect(session=session, account_id=account_id, phone_number_id=phone_number_id)
    client = graph.client_for_token(token)
    try:
        await client.register(phone_number_id, pin)
        info = await client.get_phone_number(phone_number_id)
    except GraphError as exc:
        raise _plain(exc, "register") from exc
    with db.session_scope() as session:
        # checked again: another admin may have connected a number meanwhile
        require_can_connect(session=session, account_id=account_id, phone_number_id=phone_number_id)
        return store_number(
            session=session, account_id=account_id, waba_id=waba_id, token=token, info=info
        )


def store_number(*, session: Session, account_id: int, waba_id: str, token: str, info) -> int:
    display = info.display_phone_number or ""
    try:
        e164 = phones.parse(display).e164
    except phones.InvalidPhoneNumber:
        e164 = "+" + "".join(ch for ch in display if ch.isdigit())
    row = session.exec(
        select(BusinessNumber).where(BusinessNumber.phone_number_id == info.id)
    ).first()
    if row is None:
        row = session.exec(
            select(BusinessNumber).where(
                BusinessNumber.channel == "whatsapp", BusinessNumber.e164 == e164
            )
        ).first()
    if row is None:
        row = BusinessNumber(account_id=account_id, channel="whatsapp", e164=e164)
    row.account_id = account_id
    row.e164 = e164
    row.phone_number_id = info.id
    row.waba_id = waba_id
    row.access_token_encrypted = encrypt(token)
    row.verified_name = info.verified_name or ""
    row.display_name = info.verified_name or row.display_name or e164
    row.name_status = info.name_status or ""
    row.code_verification_status = info.code_verification_status or ""
    row.quality_rating = info.quality_rating or "UNKNOWN"
    row.messaging_limit = info.messaging_limit_tier or ""
    row.throughput_level = info.throughput_level or ""
    row.status = "connected"
    row.updated_at = utc_now()
    session.add(row)
    session.commit()
    return row.id


# ------------------------------------------------------------------------- disable, enable


def _own_number(session: Session, account_id: int, number_id: int) -> BusinessNumber:
    row = session.get(BusinessNumber, number_id)
    if row is None or row.account_id != account_id:
        raise NumberError("No such number", "This number is not in your account.")
    return row


def disable(*, session: Session, account_id: int, number_id: int) -> BusinessNumber:
    """Stop using a number here (it stays in the WhatsApp Business Account in Meta)."""
    row = _own_number(session, account_id, number_id)
    row.status = "disabled"
    row.updated_at = utc_now()
    session.add(row)
    session.commit()
    return row


def enable(*, session: Session, account_id: int, number_id: int) -> BusinessNumber:
    row = _own_number(session, account_id, number_id)
    if row.status == "connected":
        return row
    if row.channel == "whatsapp":
        require_can_connect(session=session, account_id=account_id)
        if not row.access_token_encrypted or not row.phone_number_id:
            raise NumberError(
                "Connect it first",
                "This number was never registered here.",
                "Use Connect WhatsApp number to verify and register it.",
            )
    row.status = "connected"
    row.updated_at = utc_now()
    session.add(row)
    session.commit()
    return row


def sealed(token: str) -> str:
    """What the wizard keeps between steps: the token encrypted, never the token."""
    return encrypt(token.strip())


def unsealed(value: str) -> str:
    return decrypt(value)


def whatsapp_numbers_in_use(*, session: Session, account_id: int) -> list[BusinessNumber]:
    return list(
        session.exec(
            select(BusinessNumber)
            .where(
                BusinessNumber.account_id == account_id,
                BusinessNumber.channel == "whatsapp",
                BusinessNumber.status != "disabled",
            )
            .order_by(col(BusinessNumber.id))
        ).all()
    )


# ------------------------------------------------------------------------- plain-word labels

NAME_STATUS_LABELS = {
    "APPROVED": "Name approved",
    "AVAILABLE_WITHOUT_REVIEW": "Name usable, review not needed",
    "PENDING_REVIEW": "Name in review",
    "DECLINED": "Name declined",
    "EXPIRED": "Name approval expired",
    "NON_EXISTS": "No display name yet",
    "NONE": "No display name yet",
}
QUALITY_LABELS = {
    "GREEN": "High quality",
    "YELLOW": "Medium quality",
    "RED": "Low quality",
    "UNKNOWN": "Not rated yet",
    "NA": "Not rated yet",
}
STATUS_LABELS = {
    "connected": "Connected",
    "disabled": "Disabled",
    "pending": "Pending",
    "pending_registration": "Waiting for registration",
}
THROUGHPUT_LABELS = {
    "STANDARD": "Up to 80 messages a second",
    "HIGH": "Up to 1,000 messages a second",
    "NOT_APPLICABLE": "",
}
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}


def _words(code: str) -> str:
    return (code or "").replace("_", " ").strip().capitalize()


def name_status_label(code: str) -> str:
    return NAME_STATUS_LABELS.get((code or "").upper(), _words(code))


def quality_label(code: str) -> str:
    return QUALITY_LABELS.get((code or "").upper(), _words(code))


def status_label(code: str) -> str:
    return STATUS_LABELS.get((code or "").lower(), _words(code))


def throughput_label(code: str) -> str:
    return THROUGHPUT_LABELS.get((code or "").upper(), _words(code))


def tier_limit(code: str) -> int | None:
    """Customers per rolling 24 h for Meta's tier code; None when unlimited; 250 (a new
    number's limit) when the code is missing or unknown."""
    return TIER_LIMITS.get((code or "").upper(), 250)


def tier_label(code: str) -> str:
    limit = tier_limit(code)
    return "Unlimited customers / 24 h" if limit is None else f"{limit:,} customers / 24 h"
